"""What the space collection tells the apps above it, which it must not
import (data flows down): ``space_collected`` is sent by update_df_stats
after each collection, inside its run's lock, with the run's
``report`` (collect.Report); a receiver adds its problems to the report
and never raises (the second server's report is stored this way)."""

from django.dispatch import Signal

space_collected = Signal()
