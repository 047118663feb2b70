"""The end of a volume: destroyed with its account and records (at once, or
when a deferred deletion's protection has ended), and the records of one an
administrator destroyed with root's own tool completed."""

import logging
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from backup.operations import services as operations
from backup.operations.errors import OperationInProgress
from backup.operations.models import Operation
from backup.operations.results import Result, result
from backup.privileged import commands
from backup.privileged.client import PrivilegedError

from .failures import failing_as
from .models import Volume
from .presence import account_exists

logger = logging.getLogger("backup.volumes")

# The root tool an administrator runs at the server's terminal to destroy a
# suspended volume early (beside the wrappers, never in sudoers).
ROOT_TOOL = "tools/destroy-protected.py"
DESTROYED_OUTSIDE = "destroyed_outside"


def destroy_volume(volume: Volume) -> None:
    """Remove the volume, its mount point and account, then its row: the rows
    that belong to it (its snapshots' figures) go with it (on_delete), so
    they never meet a later volume of the same name."""
    account = volume.account
    with failing_as(
        _(
            "Deleting your volume stopped half-way; its data may already be gone. "
            "Please contact {contact} to finish the cleanup."
        ),
        refused=_("Your volume was not deleted: {reason}."),
    ):
        commands.remove_volume(account)
        commands.remove_mount_point(account)
        commands.delete_account(account)
    volume.delete()


def destroy(operation: Operation) -> Result:
    volume = Volume.objects.get(owner=operation.owner)
    if operation.parameters.get(DESTROYED_OUTSIDE):
        return _complete_destroyed_outside(operation, volume)
    destroy_volume(volume)
    return result("destroyed")


def _complete_destroyed_outside(operation: Operation, volume: Volume) -> Result:
    """The volume was destroyed by root's tool, not through the portal: what
    the portal's own destruction would also have removed (the mount point,
    the backup account, through the usual wrappers) goes now, then the
    records. A wrapper refusing because its part is gone already is fine;
    an account that can't be removed fails the operation (tried again next
    run, the volume's row kept)."""
    account = volume.account
    notes = [f"the volume was destroyed outside the portal ({ROOT_TOOL})"]
    if account_exists(account):
        try:
            commands.remove_mount_point(account)
        except PrivilegedError as error:
            notes.append(f"mount point: {error}")
        with failing_as(
            _(
                "The volume was destroyed by an administrator, but its backup account "
                "could not be removed: {reason}. Please contact {contact}."
            )
        ):
            commands.delete_account(account)
        notes.append("account removed")
    else:
        notes.append("account already gone")
    volume.delete()
    operation.detail = "; ".join(notes)
    return result("destroyed_outside", tool=ROOT_TOOL)


def _volumes_gone(suspended: list[Volume]) -> list[Volume]:
    """The suspended volumes that no longer exist on the server (one
    privileged call, made only when there are suspended volumes). Unknown is
    not gone: when the inventory can't be read, none is."""
    if not suspended:
        return []
    try:
        present = {record["user"] for record in commands.inventory()}
    except PrivilegedError as error:
        logger.error("inventory not read; suspended volumes not checked: %s", error)
        return []
    return [volume for volume in suspended if volume.account not in present]


def destroy_due_volumes(now: datetime | None = None) -> list[Operation]:
    """Destroy the suspended volumes whose protection has ended, and complete
    the records of those an administrator destroyed with root's tool, each
    as an operation in the audit log; returns those operations."""
    now = now or timezone.now()
    done = []
    suspended = list(Volume.objects.select_related("owner").filter(suspended_at__isnull=False))
    gone = _volumes_gone(suspended)
    due = [
        volume
        for volume in suspended
        if volume in gone or (volume.destroy_after is not None and volume.destroy_after <= now)
    ]
    for volume in due:
        parameters: dict[str, object] = {
            "destroy_after": volume.destroy_after.isoformat() if volume.destroy_after else None
        }
        if volume in gone:
            parameters[DESTROYED_OUTSIDE] = True
        try:
            operation = operations.run_now(
                owner=volume.owner,
                actor=None,
                kind=Operation.Kind.DESTROY,
                parameters=parameters,
            )
        except OperationInProgress:
            continue  # the owner is undoing it right now; next run decides
        done.append(operation)
    return done
