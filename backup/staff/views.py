"""Admin pages (staff only): pool and volumes, operations in progress.

One person's page is in person.py, the audit log in audit.py."""

from urllib.parse import quote

from django.contrib import messages
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from backup.discovery import staff as backup_column
from backup.operations import services as operations
from backup.operations import tasks as operation_tasks
from backup.operations.errors import UserFacingError
from backup.operations.models import Operation
from backup.privileged.client import PrivilegedError
from backup.snapshots.models import SnapshotRun
from backup.sso.decorators import staff_required
from backup.volumes.models import Volume

from . import services

# Shown in a cell that has no value (an en dash).
NONE = "\u2013"

SORT_COLUMNS = [
    ("user", "User"),
    ("size", "Size"),
    ("used", "Used"),
    ("percent", "Used %"),
    ("mounted", "Mounted"),
    ("created", "Created"),
    ("backup", "Last backup"),
]


@staff_required
def overview(request):
    sort = request.GET.get("sort", "user")
    if sort not in services.SORT_KEYS:
        sort = "user"
    descending = request.GET.get("order") == "desc"
    context = {
        "sort": sort,
        "descending": descending,
        "sort_columns": SORT_COLUMNS,
        "snapshot_run": SnapshotRun.objects.first(),
    }
    try:
        context["pool"], rows = services.pool_and_volume_rows(sort, descending)
    except PrivilegedError:
        context["unavailable"] = True
    else:
        rows, filter_context = backup_column.filter_rows(request, rows)
        context.update(filter_context, rows=rows, table=_volume_table(rows))
    return render(request, "staff/overview.html", context)


def _volume_table(rows):
    """The table's cells as text, formatted once in Python: with a thousand
    volumes, per-cell template filters and {% url %} dominate the page time."""
    history = reverse("staff:user-history", args=["-"])
    now = timezone.now()
    pending = set(
        Volume.objects.filter(suspended_at__isnull=False).values_list("account", flat=True)
    )
    return [
        {
            "account": row.account,
            "history_url": history.replace("/-/", f"/{quote(row.account)}/"),
            "size": filesizeformat(row.size_bytes),
            "used": filesizeformat(row.used_bytes) if row.usage else NONE,
            "percent": f"{row.percent}%" if row.usage else NONE,
            "mounted": row.mounted,
            "created": row.created_at.strftime("%Y-%m-%d") if row.created_at else NONE,
            "known_to_portal": row.known_to_portal,
            "pending_destruction": row.account in pending,
            "on_server": row.on_server,
            **backup_column.cells(row.backups, now),
        }
        for row in rows
    ]


@staff_required
def active_operations(request):
    """Every operation still queued or running, once those whose worker
    died are ended: what an admin may end by hand."""
    operation_tasks.release_dead()
    active = Operation.objects.filter(state__in=Operation.ACTIVE_STATES).order_by("requested_at")
    return render(request, "staff/operations.html", {"operations": active, "now": timezone.now()})


@require_POST
@staff_required
def end_operation(request, pk):
    try:
        record = operations.end_stuck(pk, request.user)
    except UserFacingError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, record.message)
    return redirect("staff:operations")
