"""A node's report about itself, and what the portal concludes from its
age: a node whose worker has been silent longer than
``NODE_SILENT_AFTER_SECONDS`` is unreachable since its last report."""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from backup.privileged import commands

from .models import Node, NodeReport


def report(node_name: str, now: datetime | None = None) -> NodeReport:
    """Run on the node: its pool, read through its own wrappers, written to
    its own row (the only one its database role may write)."""
    node = Node.objects.get(name=node_name)
    pool = commands.pool()
    written, _ = NodeReport.objects.update_or_create(
        node=node,
        defaults={
            "reported_at": now or timezone.now(),
            "pool_size_bytes": pool["size_bytes"],
            "pool_free_bytes": pool["free_bytes"],
            "volume_count": pool["volume_count"],
        },
    )
    return written


def unreachable_since(node: Node, now: datetime | None = None) -> datetime | None:
    """When the node was last heard of, if that is too long ago; None while
    it reports. A node that never reported is unreachable since it was
    registered."""
    now = now or timezone.now()
    silent_after = timedelta(seconds=settings.NODE_SILENT_AFTER_SECONDS)
    last = NodeReport.objects.filter(node=node).values_list("reported_at", flat=True).first()
    heard = last or node.created_at
    return heard if now - heard > silent_after else None
