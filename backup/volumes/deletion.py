"""An employee's deletion of their volume, in the task worker: at once, or
deferred while snapshots of it are protected (and undoable until then)."""

import logging
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from backup.operations.models import Operation
from backup.operations.results import Result, result
from backup.privileged import commands

from .destruction import destroy_volume
from .failures import failing_as
from .models import Volume
from .signals import volume_deleted

logger = logging.getLogger("backup.volumes")


def _protected_until(account: str) -> datetime | None:
    """When the volume's newest protected snapshot stops being protected, or
    None when nothing is protected (or the volume can't have snapshots)."""
    record = commands.snapshots(account)
    if record is None or not record["supported"]:
        return None
    ends = [
        datetime.fromisoformat(snapshot["protected_until"])
        for snapshot in record["snapshots"]
        if snapshot["protected"]
    ]
    return max(ends, default=None)


def _announce_deletion(operation: Operation, account: str, destroy_after: datetime | None) -> None:
    """The owner and the admins must learn of it at once, while it can still
    be undone (whoever holds the owner's SSO session can delete): the alerts
    app, above this one, receives the signal and tells them. The deletion is
    done; a receiver failing must not undo that."""
    for _receiver, outcome in volume_deleted.send_robust(
        sender=Volume, operation=operation, account=account, destroy_after=destroy_after
    ):
        if isinstance(outcome, Exception):
            logger.error("the deletion of %s could not be announced", account, exc_info=outcome)


def delete(operation: Operation) -> Result:
    """Destroy the volume at once, or, while snapshots of it are protected,
    suspend it until the newest one's protection ends: whoever holds the
    owner's session must not be able to wipe the backups with it. Either
    way the owner and the admins are told at once."""
    volume = Volume.objects.get(owner=operation.owner)
    account = volume.account
    if volume.pending_destruction:
        # Already deleted: its destruction date stands (it is never moved).
        destroy_after = volume.destroy_after
        assert destroy_after is not None  # recorded with the suspension (Volume.save)
        return result("already_deleted", date=destroy_after.isoformat())
    protected_until = None
    if volume.filesystem == Volume.Filesystem.BTRFS:  # the others have no snapshots
        with failing_as(
            _(
                "Your volume was not deleted: its snapshots could not be read. "
                "Please contact {contact}."
            )
        ):
            protected_until = _protected_until(account)
    if protected_until is not None:
        with failing_as(
            _("Your volume was not deleted. Please contact {contact}."),
            refused=_("Your volume was not deleted: {reason}."),
        ):
            commands.suspend(account)
        volume.suspended_at = timezone.now()
        volume.destroy_after = protected_until
        volume.save(update_fields=["suspended_at", "destroy_after"])
        operation.detail = f"suspended until {protected_until.isoformat()}"
        _announce_deletion(operation, account, protected_until)
        return result("suspended", date=protected_until.isoformat())
    with failing_as(
        _("Your volume was not deleted. Please contact {contact}."),
        refused=_("Your volume was not deleted: {reason}."),
    ):
        commands.unmount(account)
    destroy_volume(volume)
    _announce_deletion(operation, account, None)
    return result("deleted")


def undo_delete(operation: Operation) -> Result:
    volume = Volume.objects.get(owner=operation.owner)
    with failing_as(
        _("Your volume could not be brought back: {reason}. Please contact {contact}.")
    ):
        commands.resume(volume.account)
    volume.suspended_at = volume.destroy_after = None
    volume.save(update_fields=["suspended_at", "destroy_after"])
    return result("undeleted")
