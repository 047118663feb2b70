"""The employee's pages: welcome (no volume yet), dashboard, and actions."""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from backup.checkins import dashboard as checkins_dashboard
from backup.discovery import dashboard as discovery_dashboard
from backup.operations import records
from backup.operations import services as operations
from backup.operations import tasks as operation_tasks
from backup.operations.errors import UserFacingError
from backup.snapshots import listing

from . import services, status
from .models import Volume, quota_for


def home(request):
    """The welcome page, or the dashboard. Reads only (an operation whose
    worker died is shown as interrupted, not ended here), and a fixed number
    of queries whatever the volume holds: 13 with the session's when the
    volume's state is cached (tests/test_read_only_pages.py counts them)."""
    user = request.user
    volume = services.volume_of(user)
    active = operations.active_for(user.username)
    context: dict[str, Any] = {"volume": volume, "active_operation": active}
    if volume is None:
        if active is None:
            try:
                context["cannot_create"] = services.can_create(user)
            except UserFacingError as refusal:
                context["cannot_create"] = refusal.message
        try:
            context["create_size"] = services.create_size(user)
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
        add_space_target=services.add_space_target(volume, quota),
        add_space_refusal=services.add_space_refusal(volume, quota),
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


def _start_and_follow(request, start):
    """Run a request_* service; follow the operation or explain the refusal."""
    try:
        operation = start()
    except UserFacingError as refusal:
        messages.error(request, refusal.message)
        return redirect("volumes:home")
    return redirect("operations:detail", operation.pk)


def _action(request_operation):
    """A POST-only view starting ``request_operation(user, actor)`` for the
    signed-in person on their own volume."""

    @require_POST
    def view(request):
        return _start_and_follow(request, lambda: request_operation(request.user, request.user))

    return view


create = _action(services.request_create)
add_space = _action(services.request_add_space)
mount = _action(services.request_mount)
defragment = _action(services.request_defragment)
scrub = _action(services.request_scrub)
undo_delete = _action(services.request_undo_delete)


def _confirm_page(request, template, start, describe=lambda volume: {}):
    volume = services.volume_of(request.user)
    if volume is None:
        return redirect("volumes:home")
    context = {"volume": volume, **describe(volume)}
    if request.method == "POST":
        try:
            operation = start(request.POST.get("confirmation"))
        except UserFacingError as refusal:
            return render(
                request,
                template,
                {**context, "error": refusal.message},
                status=refusal.status,
            )
        return redirect("operations:detail", operation.pk)
    return render(request, template, context)


def _deletion_outlook(volume) -> dict:
    """What deleting would do, from the stored snapshot list (no privileged
    call): deferred until a date, at once, or (not yet listed) either."""
    if volume.filesystem != Volume.Filesystem.BTRFS:
        return {"snapshots_known": True, "protected_until": None}
    snapshots = listing.snapshots_of(volume.account)
    if snapshots.listed_at is None:
        return {"snapshots_known": False, "protected_until": None}
    ends = [s.protected_until for s in snapshots.snapshots if s.protected and s.protected_until]
    return {"snapshots_known": True, "protected_until": max(ends, default=None)}


def delete(request):
    return _confirm_page(
        request,
        "volumes/delete.html",
        lambda typed: services.request_delete(request.user, request.user, typed),
        _deletion_outlook,
    )


def delete_time_machine(request):
    return _confirm_page(
        request,
        "volumes/delete_time_machine.html",
        lambda typed: services.request_delete_time_machine(request.user, request.user, typed),
    )


# The restore instructions, one page per platform (templates/volumes/restore/).
RESTORE_PLATFORMS = {
    "mac": _("Mac: Time Machine"),
    "windows": _("Windows: File History, Windows Backup or a plain copy"),
    "linux": _("Linux: restic, Borg and other tools"),
}

# Commands are the tools' own words, never translated; REPOSITORY and
# ARCHIVE are for the reader to replace.
LINUX_RESTORE_TOOLS = (
    {
        "name": "restic",
        "commands": (
            "restic -r /mnt/backup/REPOSITORY snapshots",
            "restic -r /mnt/backup/REPOSITORY restore latest --target ~/restored",
        ),
    },
    {
        "name": "Borg",
        "commands": (
            "borg list /mnt/backup/REPOSITORY",
            "cd ~/restored && borg extract /mnt/backup/REPOSITORY::ARCHIVE home/you/Documents",
        ),
    },
    {
        "name": "rdiff-backup",
        "commands": (
            "rdiff-backup --list-increments /mnt/backup/REPOSITORY",
            "rdiff-backup --restore-as-of 3D /mnt/backup/REPOSITORY/Documents ~/restored/Documents",
        ),
    },
)


def restore(request, platform=None):
    """How to get files back from this server, for the signed-in person's
    volume (its real share address), per platform."""
    if platform is not None and platform not in RESTORE_PLATFORMS:
        raise Http404("No such platform.")
    volume = services.volume_of(request.user)
    context = {
        "volume": volume,
        "platform": platform,
        "platforms": RESTORE_PLATFORMS,
        "snapshots_offered": volume is not None
        and volume.filesystem == volume.Filesystem.BTRFS
        and not volume.pending_destruction,
        "snapshots_url": reverse("snapshots:list"),
        "linux_tools": LINUX_RESTORE_TOOLS,
        "linux_unmount": "sudo umount /mnt/backup",
    }
    template = f"volumes/restore/{platform}.html" if platform else "volumes/restore/index.html"
    return render(request, template, context)
