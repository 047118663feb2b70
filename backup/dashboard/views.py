"""The employee's page: the welcome page while they have no volume, else
the dashboard. Its templates keep their names under volumes/."""

from typing import Any

from django.conf import settings
from django.shortcuts import render

from backup.checkins import dashboard as checkins_dashboard
from backup.core.errors import UserFacingError
from backup.discovery import dashboard as discovery_dashboard
from backup.operations import records
from backup.operations import services as operations
from backup.operations import tasks as operation_tasks
from backup.snapshots import listing
from backup.stats import pool as recorded_pool
from backup.volumes import requests, status
from backup.volumes.models import quota_for, volume_of


def home(request):
    """The welcome page, or the dashboard. Reads only (an operation whose
    worker died is shown as interrupted, not ended here), and a fixed number
    of queries whatever the volume holds: 13 with the session's when the
    volume's state is cached (tests/test_read_only_pages.py counts them)."""
    user = request.user
    volume = volume_of(user)
    active = operations.active_for(user.username)
    context: dict[str, Any] = {"volume": volume, "active_operation": active}
    if volume is None:
        if active is None:
            # Refusals here are facts for the page (why Create is off), not
            # a failed request: caught, never left to the refusal middleware.
            try:
                context["cannot_create"] = requests.can_create(user)
            except UserFacingError as refusal:
                context["cannot_create"] = refusal.message
        try:
            context["create_size"] = requests.create_size(user)
        except UserFacingError:
            context["create_size"] = None  # cannot_create says why
        context["default_size"] = settings.DEFAULT_DISK_SIZE
        # Shown only without an active operation: the last one that ended,
        # or one whose worker died, shown as interrupted (not yet recorded so).
        last = user.backup_operations.order_by("-id").first()
        context["last_operation"] = operation_tasks.as_seen(last) if last else None
        return render(request, "volumes/welcome.html", context)
    try:
        context["state"] = status.volume_state(
            volume.account, records.finished_version(user.username)
        )
    except status.StatusUnavailable:
        context["status_unavailable"] = True
    context.update(_snapshot_context(volume))
    if context.get("state") and context.get("snapshots"):
        context["usage_split"] = status.split(
            context["state"].usage, context["snapshots"].snapshot_bytes
        )
    report = discovery_dashboard.report_for(volume)
    quota = quota_for(user)  # read once, passed down
    context.update(
        report=report,
        offers_time_machine_deletion=offers_time_machine_deletion(report),
        quota=quota,
        add_space_target=requests.add_space_target(volume, quota),
        add_space_refusal=requests.add_space_refusal(
            volume, quota, recorded_pool.recorded_free_gib()
        ),
        add_space_amount=settings.DEFAULT_ADD_SPACE_AMOUNT,
        recent_operations=operation_tasks.all_as_seen(user.backup_operations.all()[:5]),
        checkins=checkins_dashboard.for_owner(user),
    )
    return render(request, "volumes/dashboard.html", context)


# Where Time Machine keeps a Mac's backups (rm-timemachine.py deletes these).
TIME_MACHINE_SUFFIXES = (".sparsebundle", ".backupbundle")


def offers_time_machine_deletion(report) -> bool:
    """Whether "Delete Time Machine backups" has something to delete, as the
    last scan saw it: a Time Machine backup, a damaged bundle among the other
    folders, or sources the scan left unlisted (one may be a bundle)."""
    if not report.scanned:
        return False
    if report.more_machines or report.more_folders:
        return True
    if any(machine.format == "time_machine" for machine in report.machines):
        return True
    return any(folder.path.endswith(TIME_MACHINE_SUFFIXES) for folder in report.folders)


def _snapshot_context(volume):
    """The dashboard's snapshot card (read from the snapshots app)."""
    context: dict[str, Any] = {
        "mass_change": listing.current_mass_change(volume.account),
        "protection_days": settings.SNAPSHOT_PROTECTION_DAYS,
    }
    if volume.filesystem == volume.Filesystem.BTRFS and not volume.pending_destruction:
        context["snapshots"] = listing.snapshots_of(volume.account)
    return context
