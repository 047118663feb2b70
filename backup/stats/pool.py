"""The pool's figures as update_df_stats last recorded them, for pages that
must not make a privileged call of their own to learn them."""

import time

import rrdtool

from backup.volumes.status import GIB

from . import rrd

# How old the pool's free space recorded by update_df_stats (every five
# minutes) may be for the dashboard to decide whether to offer Add space.
RECORDED_POOL_MAX_AGE = 15 * 60


def recorded_free_gib() -> int | None:
    """The pool's free space in whole GiB as update_df_stats last recorded
    it, if recent; None when there is no recent record."""
    try:
        when, values = rrd.last_update(rrd.pool_file())
    except rrdtool.OperationalError:  # no record yet
        return None
    if values.get("free") is None or time.time() - when > RECORDED_POOL_MAX_AGE:
        return None
    return int(values["free"]) // GIB
