"""Where a new volume goes when the portal manages several storage servers:
the employee's site first, then the node with the most space left after
what its volumes were promised (their sizes, not what they hold: a volume
may grow to its size, so an over-promised pool fills up), among the nodes
that report. A single-server install has no nodes and places nothing."""

from datetime import datetime

from django.db.models import Sum
from django.utils import timezone

from .models import Node, NodeReport
from .reports import unreachable_since

GIB = 1 << 30


def promised_bytes(node: Node) -> int:
    """What the node's volumes were promised: the sum of their sizes."""
    total = node.volumes.aggregate(total=Sum("size_gib"))["total"]
    return (total or 0) * GIB


def room(node: Node, report: NodeReport) -> int:
    """The bytes the node's pool has beyond what its volumes were promised."""
    return report.pool_size_bytes - promised_bytes(node)


def has_room(node: Node, size_gib: int, now: datetime | None = None) -> bool:
    """Whether the node reports, and has ``size_gib`` beyond its promises."""
    report = NodeReport.objects.filter(node=node).first()
    if report is None or unreachable_since(node, now or timezone.now()) is not None:
        return False
    return room(node, report) >= size_gib * GIB


def place(size_gib: int, site: str = "", now: datetime | None = None) -> Node | None:
    """The node for a new volume of ``size_gib``; None when no node is
    registered (this server holds every volume). Raises NoRoom when no
    reporting node has the room."""
    nodes = list(Node.objects.all())
    if not nodes:
        return None
    now = now or timezone.now()
    reports = {report.node_id: report for report in NodeReport.objects.filter(node__in=nodes)}
    fitting = []
    for node in nodes:
        report = reports.get(node.pk)
        if report is None or unreachable_since(node, now) is not None:
            continue
        left = room(node, report)
        if left >= size_gib * GIB:
            fitting.append((node.site == site and bool(site), left, node))
    if not fitting:
        raise NoRoom(size_gib)
    # The person's site first, then the most room; the name breaks a tie,
    # so the same state always gives the same node.
    fitting.sort(key=lambda entry: (not entry[0], -entry[1], entry[2].name))
    return fitting[0][2]


class NoRoom(Exception):
    """No reporting storage server has room for a volume of this size."""

    def __init__(self, size_gib: int) -> None:
        super().__init__(f"no storage server has {size_gib} GiB to promise")
        self.size_gib = size_gib
