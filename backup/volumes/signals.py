"""What the volumes app announces, for the apps above it to act on (the
alerts app tells the owner and the admins) without this app importing them."""

from django.dispatch import Signal

# Sent once a volume is deleted: destroyed at once (destroy_after None) or
# suspended until destroy_after. Arguments: operation (the delete
# Operation), account (str), destroy_after (datetime | None). Receivers
# must not raise: the deletion is done whatever they do.
volume_deleted = Signal()
