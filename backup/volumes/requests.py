"""The rules an employee meets in the web request: everything that can be
checked up front is, a refusal is a sentence for the person, and what is
allowed starts as an operation the task worker carries out (steps.py,
deletion.py, destruction.py)."""

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from backup.core.errors import UserFacingError
from backup.nodes import placement
from backup.nodes.models import Node
from backup.operations import records
from backup.operations import services as operations
from backup.operations.models import Operation
from backup.sso import names

from . import space
from .failures import support_contact
from .models import Volume, quota_for, volume_of


def start_operation(
    user: Any, actor: Any, kind: str, parameters: dict[str, Any] | None = None
) -> Operation:
    """Start ``kind`` on ``user``'s volume in the task worker, or refuse
    (OperationInProgress) while another operation is still active. A volume
    on a storage server of its own goes to that server's queue."""
    parameters = dict(parameters or {})
    if "node" not in parameters:
        volume = Volume.objects.filter(owner=user).select_related("node").first()
        if volume is not None and volume.node is not None:
            parameters["node"] = volume.node.name
    return operations.start(owner=user, actor=actor, kind=kind, parameters=parameters)


def create_size(user: Any) -> int:
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
            % {"quota": quota, "minimum": settings.MIN_VOLUME_GIB, "contact": support_contact()},
            status=403,
        )
    return min(int(settings.DEFAULT_DISK_SIZE), quota)


def _no_space_for_create() -> str:
    return _(
        "The backup server does not have enough free space for a new volume right now. "
        "Please contact %(contact)s."
    ) % {"contact": support_contact()}


def _no_space_to_grow() -> str:
    return _(
        "The backup server does not have enough free space to grow your volume. "
        "Please contact %(contact)s."
    ) % {"contact": support_contact()}


def _require_pool_space(user: Any, actor: Any, kind: str, needed_gib: int, message: str) -> None:
    """Refuse (recorded in the audit log, so the admins see the demand the
    pool could not meet) when the pool has less than ``needed_gib`` free."""
    free = space.pool_free_gib()
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


def can_create(user: Any) -> str | None:
    """None if a volume can be created now, else why not."""
    if volume_of(user) is not None:
        return _("You already have a backup volume.")
    size = create_size(user)
    try:
        node = placement.place(size)
    except placement.NoRoom:
        return _no_space_for_create()
    if node is None and space.pool_free_gib() < size:
        return _no_space_for_create()
    return None


def request_create(user: Any, actor: Any) -> Operation:
    if volume_of(user) is not None:
        raise UserFacingError(_("You already have a backup volume."))
    size = create_size(user)
    parameters = {"size_gib": size, "filesystem": settings.VOLUME_FILESYSTEM}
    node = _place(user, actor, size)
    if node is None:
        _require_pool_space(user, actor, Operation.Kind.CREATE, size, _no_space_for_create())
    else:
        parameters["node"] = node.name
    return start_operation(user, actor, Operation.Kind.CREATE, parameters)


def _place(user: Any, actor: Any, size: int) -> Node | None:
    """The storage server for a new volume (None: this server, the only
    one); refused, and recorded like a full pool, when none has the room."""
    try:
        return placement.place(size)
    except placement.NoRoom:
        message = _no_space_for_create()
        records.record_refusal(
            owner=user,
            actor=actor,
            kind=Operation.Kind.CREATE,
            message=message,
            detail=f"refused before starting: no storage server has {size} GiB to promise",
            parameters={"refused": records.REFUSED_POOL_FULL, "needed_gib": size},
        )
        raise UserFacingError(message) from None


def _require_volume(user: Any, *, suspended_ok: bool = False) -> Volume:
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
    ) % {"size": volume.size_gib, "contact": support_contact()}


def add_space_refusal(
    volume: Volume, quota: int | None = None, recorded_pool_free_gib: int | None = None
) -> str | None:
    """Why Add space is not offered now (quota reached, or the pool can't
    take the growth), else None.

    For the dashboard, which makes at most one privileged call (the volume's
    state): the pool's free space is the one the stats job recorded
    (``recorded_pool_free_gib``, read by the page from backup.stats, which
    sits above this app), not another wrapper call. Without a recent record
    (None) it is offered; the request itself always asks the pool, and
    refuses (and records the refusal) if it can't grow. ``quota``: the
    owner's, when the caller has it already (one query a page, not three)."""
    if quota is None:
        quota = quota_for(volume.owner)
    if volume.size_gib >= quota:
        return _at_quota(volume)
    free = recorded_pool_free_gib
    if free is not None and free < add_space_target(volume, quota) - volume.size_gib:
        return _no_space_to_grow()
    return None


def request_add_space(user: Any, actor: Any) -> Operation:
    volume = _require_volume(user)
    if volume.size_gib >= quota_for(user):
        raise UserFacingError(_at_quota(volume))
    new_size = add_space_target(volume)
    growth = new_size - volume.size_gib
    if volume.node is None:
        _require_pool_space(user, actor, Operation.Kind.ADD_SPACE, growth, _no_space_to_grow())
    elif not placement.has_room(volume.node, growth):
        raise UserFacingError(_no_space_to_grow())
    return start_operation(
        user, actor, Operation.Kind.ADD_SPACE, {"from_gib": volume.size_gib, "to_gib": new_size}
    )


def _check_confirmation(volume: Volume, typed: str | None) -> None:
    if not names.typed_matches(typed, volume.account):
        raise UserFacingError(
            _("To confirm, type your user name (%(name)s) exactly. Nothing was deleted.")
            % {"name": volume.account}
        )


def request_delete(user: Any, actor: Any, typed_confirmation: str | None) -> Operation:
    volume = _require_volume(user)
    _check_confirmation(volume, typed_confirmation)
    return start_operation(user, actor, Operation.Kind.DELETE, {"size_gib": volume.size_gib})


def request_undo_delete(user: Any, actor: Any) -> Operation:
    volume = _require_volume(user, suspended_ok=True)
    if not volume.pending_destruction:
        raise UserFacingError(_("Your volume is not being deleted; there is nothing to undo."))
    return start_operation(user, actor, Operation.Kind.UNDO_DELETE)


def request_delete_time_machine(user: Any, actor: Any, typed_confirmation: str | None) -> Operation:
    volume = _require_volume(user)
    _check_confirmation(volume, typed_confirmation)
    return start_operation(user, actor, Operation.Kind.DELETE_TIME_MACHINE)


def request_mount(user: Any, actor: Any) -> Operation:
    _require_volume(user)
    return start_operation(user, actor, Operation.Kind.MOUNT)


def _require_btrfs(user: Any) -> Volume:
    volume = _require_volume(user)
    if volume.filesystem != Volume.Filesystem.BTRFS:
        raise UserFacingError(_("Defragment and Check are only available on btrfs volumes."))
    return volume


def request_defragment(user: Any, actor: Any) -> Operation:
    _require_btrfs(user)
    return start_operation(user, actor, Operation.Kind.DEFRAGMENT)


def request_scrub(user: Any, actor: Any) -> Operation:
    _require_btrfs(user)
    return start_operation(user, actor, Operation.Kind.SCRUB)
