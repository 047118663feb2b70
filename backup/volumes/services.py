"""The rules for volumes: who may do what, how much space, and how each
operation is carried out (and undone when it fails half-way).

``request_*`` functions run in the web request: they check everything that
can be checked up front, refuse with a sentence for the user, and start the
operation. The functions in ``WORK`` run in the task worker.
"""

import contextlib
import logging
import pwd
import time
from datetime import datetime

import rrdtool
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backup.alerts import delivery
from backup.operations import records, registry
from backup.operations import services as operations
from backup.operations.errors import OperationInProgress, UserFacingError
from backup.operations.models import Operation
from backup.operations.results import Result, result
from backup.passwords import generator
from backup.privileged import commands
from backup.privileged.client import PrivilegedError, Refused
from backup.snapshots.models import Snapshot
from backup.sso import names
from backup.stats import rrd

from .models import Volume, quota_for
from .status import GIB

logger = logging.getLogger("backup.volumes")


def _contact():
    return settings.SUPPORT_CONTACT


def volume_of(user) -> Volume | None:
    return Volume.objects.filter(owner=user).first()


def pool_free_gib() -> int:
    """Free space in the pool, in whole GiB (one privileged call)."""
    try:
        return commands.pool()["free_bytes"] // GIB
    except PrivilegedError as error:
        logger.error("pool query failed: %s", error)
        raise UserFacingError(
            _(
                "The backup server can't report its free space right now, so nothing was "
                "attempted. Please try again later or contact %(contact)s."
            )
            % {"contact": _contact()}
        ) from error


def start_operation(user, actor, kind: str, parameters: dict | None = None) -> Operation:
    """Start ``kind`` on ``user``'s volume in the task worker, or refuse
    (OperationInProgress) while another operation is still active."""
    return operations.start(owner=user, actor=actor, kind=kind, parameters=parameters)


# --- Requests ---------------------------------------------------------------


def create_size(user) -> int:
    """The size a new volume gets: the default, or the person's quota when
    that is smaller; UserFacingError when the quota is below the smallest
    volume the server makes."""
    quota = quota_for(user)
    if quota < settings.MIN_VOLUME_GIB:
        raise UserFacingError(
            _(
                "Your quota is %(quota)d GiB, less than the smallest volume the server makes "
                "(%(minimum)d GiB), so no volume can be created. If you need one, contact "
                "%(contact)s."
            )
            % {"quota": quota, "minimum": settings.MIN_VOLUME_GIB, "contact": _contact()},
            status=403,
        )
    return min(settings.DEFAULT_DISK_SIZE, quota)


def _no_space_for_create() -> str:
    return _(
        "The backup server does not have enough free space for a new volume right now. "
        "Please contact %(contact)s."
    ) % {"contact": _contact()}


def _no_space_to_grow() -> str:
    return _(
        "The backup server does not have enough free space to grow your volume. "
        "Please contact %(contact)s."
    ) % {"contact": _contact()}


def _require_pool_space(user, actor, kind: str, needed_gib: int, message: str) -> None:
    """Refuse (recorded in the audit log, so the admins see the demand the
    pool could not meet) when the pool has less than ``needed_gib`` free."""
    free = pool_free_gib()
    if free >= needed_gib:
        return
    records.record_refusal(
        owner=user,
        actor=actor,
        kind=kind,
        message=message,
        detail=f"refused before starting: the pool has {free} GiB free, {needed_gib} GiB needed",
        parameters={
            "refused": records.REFUSED_POOL_FULL,
            "needed_gib": needed_gib,
            "free_gib": free,
        },
    )
    raise UserFacingError(message)


def can_create(user) -> str | None:
    """None if a volume can be created now, else why not."""
    if volume_of(user) is not None:
        return _("You already have a backup volume.")
    if pool_free_gib() < create_size(user):
        return _no_space_for_create()
    return None


def request_create(user, actor) -> Operation:
    if volume_of(user) is not None:
        raise UserFacingError(_("You already have a backup volume."))
    size = create_size(user)
    _require_pool_space(user, actor, Operation.Kind.CREATE, size, _no_space_for_create())
    return start_operation(
        user,
        actor,
        Operation.Kind.CREATE,
        {"size_gib": size, "filesystem": settings.VOLUME_FILESYSTEM},
    )


def _require_volume(user, *, suspended_ok=False):
    volume = volume_of(user)
    if volume is None:
        raise UserFacingError(_("You don't have a backup volume yet."))
    if volume.pending_destruction and not suspended_ok:
        raise UserFacingError(
            _(
                "Your volume is deleted and waits for its snapshots' protection to end. "
                "Undo the deletion first if you want to use it again."
            )
        )
    return volume


def add_space_target(volume: Volume, quota: int | None = None) -> int:
    """The size an Add space request would grow to, capped by the quota
    (``quota``: the owner's, when the caller has it already)."""
    if quota is None:
        quota = quota_for(volume.owner)
    return min(volume.size_gib + settings.DEFAULT_ADD_SPACE_AMOUNT, quota)


def _at_quota(volume: Volume) -> str:
    return _(
        "Your volume already has %(size)d GiB, the most you may have. "
        "If you need more, contact %(contact)s."
    ) % {"size": volume.size_gib, "contact": _contact()}


# How old the pool's free space recorded by update_df_stats (every five
# minutes) may be for the dashboard to decide whether to offer Add space.
RECORDED_POOL_MAX_AGE = 15 * 60


def _recorded_pool_free_gib() -> int | None:
    """The pool's free space in whole GiB as update_df_stats last recorded
    it, if recent; None when there is no recent record."""
    try:
        when, values = rrd.last_update(rrd.pool_file())
    except rrdtool.OperationalError:  # no record yet
        return None
    if values.get("free") is None or time.time() - when > RECORDED_POOL_MAX_AGE:
        return None
    return int(values["free"]) // GIB


def add_space_refusal(volume: Volume, quota: int | None = None) -> str | None:
    """Why Add space is not offered now (quota reached, or the pool can't
    take the growth), else None.

    For the dashboard, which makes at most one privileged call (the volume's
    state): the pool's free space comes from the figures the stats job
    recorded, not from another wrapper call. Without a recent record it is
    offered; the request itself always asks the pool, and refuses (and
    records the refusal) if it can't grow. ``quota``: the owner's, when the
    caller has it already (one query a page, not three)."""
    if quota is None:
        quota = quota_for(volume.owner)
    if volume.size_gib >= quota:
        return _at_quota(volume)
    free = _recorded_pool_free_gib()
    if free is not None and free < add_space_target(volume, quota) - volume.size_gib:
        return _no_space_to_grow()
    return None


def request_add_space(user, actor) -> Operation:
    volume = _require_volume(user)
    if volume.size_gib >= quota_for(user):
        raise UserFacingError(_at_quota(volume))
    new_size = add_space_target(volume)
    _require_pool_space(
        user, actor, Operation.Kind.ADD_SPACE, new_size - volume.size_gib, _no_space_to_grow()
    )
    return start_operation(
        user, actor, Operation.Kind.ADD_SPACE, {"from_gib": volume.size_gib, "to_gib": new_size}
    )


def _check_confirmation(volume, typed):
    if not names.typed_matches(typed, volume.account):
        raise UserFacingError(
            _("To confirm, type your user name (%(name)s) exactly. Nothing was deleted.")
            % {"name": volume.account}
        )


def request_delete(user, actor, typed_confirmation: str | None) -> Operation:
    volume = _require_volume(user)
    _check_confirmation(volume, typed_confirmation)
    return start_operation(user, actor, Operation.Kind.DELETE, {"size_gib": volume.size_gib})


def request_undo_delete(user, actor) -> Operation:
    volume = _require_volume(user, suspended_ok=True)
    if not volume.pending_destruction:
        raise UserFacingError(_("Your volume is not being deleted; there is nothing to undo."))
    return start_operation(user, actor, Operation.Kind.UNDO_DELETE)


def request_delete_time_machine(user, actor, typed_confirmation: str | None) -> Operation:
    volume = _require_volume(user)
    _check_confirmation(volume, typed_confirmation)
    return start_operation(user, actor, Operation.Kind.DELETE_TIME_MACHINE)


def request_mount(user, actor) -> Operation:
    _require_volume(user)
    return start_operation(user, actor, Operation.Kind.MOUNT)


def _require_btrfs(user):
    volume = _require_volume(user)
    if volume.filesystem != Volume.Filesystem.BTRFS:
        raise UserFacingError(_("Defragment and Check are only available on btrfs volumes."))
    return volume


def request_defragment(user, actor) -> Operation:
    _require_btrfs(user)
    return start_operation(user, actor, Operation.Kind.DEFRAGMENT)


def request_scrub(user, actor) -> Operation:
    _require_btrfs(user)
    return start_operation(user, actor, Operation.Kind.SCRUB)


# --- Work (in the task worker) ---------------------------------------------


def _rollback(undo_steps):
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
    undo = []
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
        commands.set_samba_password(account, generator.generate())
        with transaction.atomic():
            Volume.objects.create(
                owner=owner, account=account, size_gib=size, filesystem=filesystem
            )
    except PrivilegedError as error:
        leftovers = _rollback(undo)
        detail = f"{error}" + (f"; NOT rolled back: {'; '.join(leftovers)}" if leftovers else "")
        if leftovers:
            message = _(
                "Your backup volume could not be created, and the server could not clean up "
                "completely. Please contact %(contact)s."
            ) % {"contact": _contact()}
        elif isinstance(error, Refused) and error.wrapper == "useradd.py":
            message = _(
                "An account named %(name)s already exists on the backup server, so no "
                "volume was created. Please contact %(contact)s."
            ) % {"name": account, "contact": _contact()}
        else:
            message = _(
                "Your backup volume could not be created; nothing was kept. Please try "
                "again later, or contact %(contact)s if it keeps failing."
            ) % {"contact": _contact()}
        raise UserFacingError(message, detail) from error
    return result("created", size=size)


@contextlib.contextmanager
def _failing_as(message, refused=None):
    """Ends the operation with ``message`` when a wrapper fails (``refused``
    when it refused, so nothing changed); {reason} is the wrapper's why."""
    try:
        yield
    except PrivilegedError as error:
        text = refused if refused is not None and isinstance(error, Refused) else message
        raise UserFacingError(
            text.format(reason=error.reason, contact=_contact()), str(error)
        ) from error


def add_space(operation: Operation) -> Result:
    volume = Volume.objects.get(owner=operation.owner)
    new_size = operation.parameters["to_gib"]
    with _failing_as(
        _("Adding space failed. Please contact {contact}."),
        refused=_("No space was added: {reason}."),
    ):
        extended = commands.extend_volume(volume.account, new_size)
    volume.size_gib = new_size
    volume.save(update_fields=["size_gib"])
    operation.detail = f"grown {extended.get('grown')}" if extended else ""
    return result("grown", size=new_size)


def _protected_until(account: str) -> datetime | None:
    """When the volume's newest protected snapshot stops being protected, or
    None when nothing is protected (or the volume can't have snapshots)."""
    record = commands.snapshots(account) or {}
    if not record.get("supported"):
        return None
    ends = []
    for snapshot in record.get("snapshots") or []:
        if isinstance(snapshot, dict) and snapshot.get("protected"):
            with contextlib.suppress(TypeError, ValueError):
                ends.append(datetime.fromisoformat(snapshot["protected_until"]))
    return max(ends, default=None)


def _destroy(volume: Volume) -> None:
    account = volume.account
    with _failing_as(
        _(
            "Deleting your volume stopped half-way; its data may already be gone. "
            "Please contact {contact} to finish the cleanup."
        ),
        refused=_("Your volume was not deleted: {reason}."),
    ):
        commands.remove_volume(account)
        commands.remove_mount_point(account)
        commands.delete_account(account)
    # The figures of its snapshots must not meet a later volume of the same name.
    Snapshot.objects.filter(account=account).delete()
    volume.delete()


def _announce_deletion(operation: Operation, account: str, destroy_after) -> None:
    """The owner and the admins are told at once, through the one delivery
    path (each in their language): whoever holds the owner's SSO session can
    delete, and the owner must learn of it while it can still be undone."""
    context = {
        "account": account,
        "actor": operation.actor_name,
        "requested_at": operation.requested_at,
        "destroy_after": destroy_after,
        "undo_url": delivery.link("volumes:home"),
        "person_url": delivery.link("staff:person", args=(account,)),
        "support_contact": _contact(),
    }
    template = "volumes/email/deleted"
    try:
        owner = operation.owner
        if owner is not None and owner.is_active:
            delivery.notify_person(owner, template, {**context, "for_admins": False})
        delivery.notify_admins(template, {**context, "for_admins": True})
    except Exception:  # the deletion is done; a failed notice must not undo that
        logger.exception("the deletion of %s could not be announced", account)


def delete(operation: Operation) -> Result:
    """Destroy the volume at once, or, while snapshots of it are protected,
    suspend it until the newest one's protection ends: whoever holds the
    owner's session must not be able to wipe the backups with it. Either
    way the owner and the admins are told at once."""
    volume = Volume.objects.get(owner=operation.owner)
    account = volume.account
    if volume.pending_destruction:
        # Already deleted: its destruction date stands (it is never moved).
        return result("already_deleted", date=volume.destroy_after.isoformat())
    protected_until = None
    if volume.filesystem == Volume.Filesystem.BTRFS:  # the others have no snapshots
        with _failing_as(
            _(
                "Your volume was not deleted: its snapshots could not be read. "
                "Please contact {contact}."
            )
        ):
            protected_until = _protected_until(account)
    if protected_until is not None:
        with _failing_as(
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
    with _failing_as(
        _("Your volume was not deleted. Please contact {contact}."),
        refused=_("Your volume was not deleted: {reason}."),
    ):
        commands.unmount(account)
    _destroy(volume)
    _announce_deletion(operation, account, None)
    return result("deleted")


def undo_delete(operation: Operation) -> Result:
    volume = Volume.objects.get(owner=operation.owner)
    with _failing_as(
        _("Your volume could not be brought back: {reason}. Please contact {contact}.")
    ):
        commands.resume(volume.account)
    volume.suspended_at = volume.destroy_after = None
    volume.save(update_fields=["suspended_at", "destroy_after"])
    return result("undeleted")


def destroy(operation: Operation) -> Result:
    volume = Volume.objects.get(owner=operation.owner)
    if operation.parameters.get(DESTROYED_OUTSIDE):
        return _complete_destroyed_outside(operation, volume)
    _destroy(volume)
    return result("destroyed")


# The root tool an administrator runs at the server's terminal to destroy a
# suspended volume early (beside the wrappers, never in sudoers).
ROOT_TOOL = "tools/destroy-protected.py"
DESTROYED_OUTSIDE = "destroyed_outside"


def _complete_destroyed_outside(operation: Operation, volume: Volume) -> Result:
    """The volume was destroyed by root's tool, not through the portal: what
    the portal's own destruction would also have removed (the mount point,
    the backup account, through the usual wrappers) goes now, then the
    records. A wrapper refusing because its part is gone already is fine;
    an account that can't be removed fails the operation (tried again next
    run, the volume's row kept)."""
    account = volume.account
    notes = [f"the volume was destroyed outside the portal ({ROOT_TOOL})"]
    try:
        pwd.getpwnam(account)
        has_account = True
    except KeyError:
        has_account = False
    if has_account:
        try:
            commands.remove_mount_point(account)
        except PrivilegedError as error:
            notes.append(f"mount point: {error}")
        with _failing_as(
            _(
                "The volume was destroyed by an administrator, but its backup account "
                "could not be removed: {reason}. Please contact {contact}."
            )
        ):
            commands.delete_account(account)
        notes.append("account removed")
    else:
        notes.append("account already gone")
    Snapshot.objects.filter(account=account).delete()
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
        present = {record.get("user") for record in commands.inventory()}
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


def delete_time_machine(operation):
    volume = Volume.objects.get(owner=operation.owner)
    with _failing_as(_("Time Machine backups could not be deleted: {reason}.")):
        found = commands.remove_time_machine_backups(volume.account)
    removed = found.get("removed", []) if found else []
    if not removed:
        return result("no_time_machine")
    return result("time_machine_deleted", names=[str(name) for name in removed])


def mount(operation: Operation) -> Result:
    volume = Volume.objects.get(owner=operation.owner)
    with _failing_as(
        _("Your volume could not be mounted: {reason}. Contact {contact} if this persists.")
    ):
        commands.mount(volume.account)
    return result("mounted")


def defragment(operation: Operation) -> Result:
    volume = Volume.objects.get(owner=operation.owner)
    with _failing_as(_("Defragmenting failed: {reason}.")):
        done = commands.defragment(volume.account)
    operation.detail = (done or {}).get("summary", "")
    return result("defragmented")


def scrub(operation: Operation) -> Result:
    volume = Volume.objects.get(owner=operation.owner)
    with _failing_as(_("The check failed: {reason}.")):
        checked = commands.scrub(volume.account) or {}
    operation.detail = checked.get("summary", "")
    errors = int(checked.get("errors", 0))
    if errors:
        raise UserFacingError.of(
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
            % {"contact": _contact()},
            f"left: {', '.join(remaining)}; " + "; ".join(problems),
        )
    return result("create_undone")


def _remains_of(account: str) -> dict[str, bool]:
    try:
        pwd.getpwnam(account)
        has_account = True
    except KeyError:
        has_account = False
    try:
        has_volume = any(record["user"] == account for record in commands.inventory())
    except PrivilegedError:
        has_volume = True  # unknown counts as left: the admins look
    return {"account": has_account, "volume": has_volume}


def register_work() -> None:
    """Called when Django starts (VolumesConfig.ready)."""
    for kind, work in WORK.items():
        registry.register(kind, work, undo=UNDO.get(kind))


UNDO = {Operation.Kind.CREATE: undo_create}

WORK = {
    Operation.Kind.CREATE: create,
    Operation.Kind.ADD_SPACE: add_space,
    Operation.Kind.DELETE: delete,
    Operation.Kind.DELETE_TIME_MACHINE: delete_time_machine,
    Operation.Kind.MOUNT: mount,
    Operation.Kind.DEFRAGMENT: defragment,
    Operation.Kind.SCRUB: scrub,
    Operation.Kind.UNDO_DELETE: undo_delete,
    Operation.Kind.DESTROY: destroy,
}
