"""The operations on a volume the task worker carries out (creation, more
space, mount, Time Machine deletion, defragment, check), each undone or
ended with a sentence for the person when a wrapper fails. Deletion is in
deletion.py, destruction in destruction.py."""

from collections.abc import Callable

from django.db import transaction
from django.utils.translation import gettext as _

from backup.core import password_generator
from backup.core.errors import UserFacingError
from backup.nodes.models import Node
from backup.operations.errors import failure
from backup.operations.models import Operation
from backup.operations.results import Result, result
from backup.privileged import commands
from backup.privileged.client import PrivilegedError, Refused

from .failures import failing_as, support_contact
from .models import Volume
from .presence import account_exists


def _rollback(undo_steps: list[tuple[str, Callable[[], object]]]) -> list[str]:
    """Undo completed steps, newest first; return what could not be undone."""
    leftovers = []
    for description, step in reversed(undo_steps):
        try:
            step()
        except PrivilegedError as error:
            leftovers.append(f"{description}: {error}")
    return leftovers


def create(operation: Operation) -> Result:
    owner = operation.owner
    if owner is None:  # the person was removed while the operation waited
        raise UserFacingError(
            _("No volume was created: the person it was for no longer exists."), "owner gone"
        )
    account = owner.username
    size = operation.parameters["size_gib"]
    filesystem = operation.parameters["filesystem"]
    undo: list[tuple[str, Callable[[], object]]] = []
    try:
        commands.create_account(account)
        undo.append(("account", lambda: commands.delete_account(account)))
        commands.create_volume(account, size)
        undo.append(("volume", lambda: commands.remove_volume(account)))
        commands.make_filesystem(account, filesystem)
        commands.make_mount_point(account)
        undo.append(("mount point", lambda: commands.remove_mount_point(account)))
        commands.mount(account)
        undo.append(("mount", lambda: commands.unmount(account)))
        commands.give_to_user(account)
        # The Samba entry needs a password; this one is never shown or kept.
        # The owner gets a real one from "Get my backup password" (a request
        # of their own), so no password passes through the task queue.
        commands.set_samba_password(account, password_generator.generate())
        with transaction.atomic():
            Volume.objects.create(
                owner=owner,
                account=account,
                size_gib=size,
                filesystem=filesystem,
                # Placed by the request (placement); None on a single server.
                node=Node.objects.filter(name=operation.parameters.get("node", "")).first(),
            )
    except PrivilegedError as error:
        leftovers = _rollback(undo)
        detail = f"{error}" + (f"; NOT rolled back: {'; '.join(leftovers)}" if leftovers else "")
        if leftovers:
            message = _(
                "Your backup volume could not be created, and the server could not clean up "
                "completely. Please contact %(contact)s."
            ) % {"contact": support_contact()}
        elif isinstance(error, Refused) and error.wrapper == "useradd.py":
            message = _(
                "An account named %(name)s already exists on the backup server, so no "
                "volume was created. Please contact %(contact)s."
            ) % {"name": account, "contact": support_contact()}
        else:
            message = _(
                "Your backup volume could not be created; nothing was kept. Please try "
                "again later, or contact %(contact)s if it keeps failing."
            ) % {"contact": support_contact()}
        raise UserFacingError(message, detail) from error
    return result("created", size=size)


def add_space(operation: Operation) -> Result:
    volume = Volume.objects.get(owner=operation.owner)
    new_size = operation.parameters["to_gib"]
    with failing_as(
        _("Adding space failed. Please contact {contact}."),
        refused=_("No space was added: {reason}."),
    ):
        extended = commands.extend_volume(volume.account, new_size)
    volume.size_gib = new_size
    volume.save(update_fields=["size_gib"])
    operation.detail = f"grown {extended['grown']}"
    return result("grown", size=new_size)


def delete_time_machine(operation: Operation) -> Result:
    volume = Volume.objects.get(owner=operation.owner)
    with failing_as(_("Time Machine backups could not be deleted: {reason}.")):
        found = commands.remove_time_machine_backups(volume.account)
    removed = found["removed"]
    if not removed:
        return result("no_time_machine")
    return result("time_machine_deleted", names=[str(name) for name in removed])


def mount(operation: Operation) -> Result:
    volume = Volume.objects.get(owner=operation.owner)
    with failing_as(
        _("Your volume could not be mounted: {reason}. Contact {contact} if this persists.")
    ):
        commands.mount(volume.account)
    return result("mounted")


def defragment(operation: Operation) -> Result:
    volume = Volume.objects.get(owner=operation.owner)
    with failing_as(_("Defragmenting failed: {reason}.")):
        done = commands.defragment(volume.account)
    operation.detail = done["summary"]
    return result("defragmented")


def scrub(operation: Operation) -> Result:
    volume = Volume.objects.get(owner=operation.owner)
    with failing_as(_("The check failed: {reason}.")):
        checked = commands.scrub(volume.account)
    operation.detail = checked["summary"]
    errors = checked["errors"]
    if errors:
        raise failure(
            result("check_errors", errors=errors), operation.detail, owner_name=volume.account
        )
    return result("scrubbed")


def undo_create(operation: Operation) -> Result:
    """After a worker died in the middle of a create: remove whatever of the
    volume, its mount point, the account and its Samba entry exists. Each
    step is tried whatever the others did; what remains is then looked up."""
    account = operation.owner_name
    if Volume.objects.filter(account=account).exists():
        return result("create_kept")
    problems = []
    for step in (
        commands.unmount,
        commands.remove_volume,
        commands.remove_mount_point,
        commands.delete_account,
    ):
        try:
            step(account)
        except PrivilegedError as error:
            problems.append(str(error))  # often: that part was never made
    remaining = [name for name, left in _remains_of(account).items() if left]
    if remaining:
        raise UserFacingError(
            _(
                "The interrupted creation of your volume could not be undone completely. "
                "Please contact %(contact)s."
            )
            % {"contact": support_contact()},
            f"left: {', '.join(remaining)}; " + "; ".join(problems),
        )
    return result("create_undone")


def _remains_of(account: str) -> dict[str, bool]:
    has_account = account_exists(account)
    try:
        has_volume = any(record["user"] == account for record in commands.inventory())
    except PrivilegedError:
        has_volume = True  # unknown counts as left: the admins look
    return {"account": has_account, "volume": has_volume}
