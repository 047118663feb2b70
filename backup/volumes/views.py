"""The employee's volume actions (create, add space, delete…) and the restore
instructions; the page they return to is backup.dashboard's."""

from typing import Any

from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from backup.core.errors import UserFacingError
from backup.core.refusals import refused_back_to

from . import requests
from .models import Volume, volume_of


def _action(request_operation):
    """A POST-only view starting ``request_operation(user, actor)`` for the
    signed-in person on their own volume; the operation's page follows it,
    a refusal is said on the employee's page."""

    @refused_back_to("dashboard:home")
    @require_POST
    def view(request):
        operation = request_operation(request.user, request.user)
        return redirect("operations:detail", operation.pk)

    return view


create = _action(requests.request_create)
add_space = _action(requests.request_add_space)
mount = _action(requests.request_mount)
defragment = _action(requests.request_defragment)
scrub = _action(requests.request_scrub)
undo_delete = _action(requests.request_undo_delete)


def _confirm_page(request, template, start, describe=lambda volume: {}):
    volume = volume_of(request.user)
    if volume is None:
        return redirect("dashboard:home")
    context = {"volume": volume, **describe(volume)}
    if request.method == "POST":
        try:
            operation = start(request.POST.get("confirmation"))
        except UserFacingError as refusal:
            # Not left to the refusal middleware: the form is shown again
            # with the sentence beside the typed confirmation.
            return render(
                request,
                template,
                {**context, "error": refusal.message},
                status=refusal.status,
            )
        return redirect("operations:detail", operation.pk)
    return render(request, template, context)


def _deletion_outlook(volume: Volume) -> dict[str, Any]:
    """What deleting would do, from the stored snapshot list (no privileged
    call): deferred until a date, at once, or (not yet listed) either. Read
    through the volume's own relations: the snapshot rows belong to it."""
    if volume.filesystem != Volume.Filesystem.BTRFS:
        return {"snapshots_known": True, "protected_until": None}
    # The snapshot run's list of this volume (the snapshots app's row, read
    # through the relation, as Django's documentation checks a reverse
    # one-to-one): until there is one, what is protected is not known.
    if not hasattr(volume, "snapshot_space"):
        return {"snapshots_known": False, "protected_until": None}
    now = timezone.now()
    ends = [row.protection_ends for row in volume.snapshots.all()]
    latest = max((end for end in ends if end > now), default=None)
    return {"snapshots_known": True, "protected_until": latest}


def delete(request):
    return _confirm_page(
        request,
        "volumes/delete.html",
        lambda typed: requests.request_delete(request.user, request.user, typed),
        _deletion_outlook,
    )


def delete_time_machine(request):
    return _confirm_page(
        request,
        "volumes/delete_time_machine.html",
        lambda typed: requests.request_delete_time_machine(request.user, request.user, typed),
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
    volume = volume_of(request.user)
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
