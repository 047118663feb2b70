"""Steps several wrappers share: formatting, mounting, unmounting, growing a
filesystem and opening a mounted volume's root. Callers have validated the
user and hold the volume's lock."""

import contextlib
import os
import pwd
from dataclasses import dataclass
from pathlib import Path

from .. import (
    crashsafe,
    filesystems,
    layout,
    locks,
    mounts,
    paths,
    private_mounts,
    records,
    recovery,
    validate,
)
from ..errors import Failure, Refusal
from . import GIB, backend, in_use, mounted_filesystem


def require_volume(store, user):
    volume = store.get(user)
    if volume is None:
        raise Refusal(f"{user} has no volume")
    return volume


def require_space(pool, wanted_bytes):
    if wanted_bytes > pool.free_bytes:
        raise Refusal(
            f"not enough free space in the pool: {wanted_bytes // GIB} GiB needed,"
            f" {pool.free_bytes // GIB} GiB free"
        )


def mount_state(volume, mount_point):
    """The volume's filesystem type when it is mounted at its mount point,
    None when nothing is; refused when something else is mounted there."""
    table = mounts.table()
    fstype = mounted_filesystem(volume, mount_point, table)
    if fstype is None and mounts.mounted_at(mount_point, table) is not None:
        raise Refusal(f"something other than the volume is mounted at {mount_point}")
    return fstype


@contextlib.contextmanager
def attached(store, user):
    """The volume's block device for the duration; released afterwards
    unless it was attached before."""
    already = store.device(user)
    device = already or store.device(user, attach=True)
    try:
        yield device
    finally:
        if already is None:
            store.detach(user)


def _signature_path(store, user):
    # With LVM activation off there is no device to read: device(attach=True)
    # then refuses, saying so.
    return store.probe_path(user) or store.device(user, attach=True)


def format_volume(store, user, fstype):
    volume = require_volume(store, user)
    if mount_state(volume, paths.mount_point(user)) is not None:
        raise Refusal(f"{user}'s volume is mounted: it already holds a filesystem")
    if volume.device is not None and in_use(volume.device):
        raise Refusal(f"{user}'s volume is in use")
    existing = filesystems.detect(_signature_path(store, user))
    if existing is not None:
        raise Refusal(
            f"{user}'s volume already holds a {existing} signature; it is never formatted over"
        )
    with attached(store, user) as device:
        filesystems.make(device, fstype)
        if fstype == "btrfs":
            layout.make(device, user, pwd.getpwnam(user).pw_uid)
    return fstype


def mount_volume(store, user, *, resuming=False, uid=None):
    """Mount user's volume; uid: the account's, when the caller has it from
    the account database it read once (else looked up here)."""
    if records.suspended(user) and not resuming:
        raise Refusal(f"{user}'s volume is suspended (being deleted); resume it first (resume.py)")
    volume = require_volume(store, user)
    mount_point = paths.mount_point(user)
    if not os.path.isdir(mount_point):
        raise Refusal(f"{mount_point} does not exist; create it first (mkdir.py)")
    if mount_state(volume, mount_point) is not None:
        raise Refusal(f"{user}'s volume is already mounted at {mount_point}")
    if volume.device is not None and in_use(volume.device):
        raise Refusal(f"{user}'s volume is mounted or in use elsewhere")
    fstype = filesystems.detect(_signature_path(store, user))
    if fstype is None:
        raise Refusal(f"{user}'s volume has no filesystem yet; format it first")
    filesystems.require_supported(fstype)
    device = store.device(user, attach=True)
    try:
        with recovery.intent(user, recovery.MOUNTED):
            if fstype == "btrfs":
                uid = uid if uid is not None else pwd.getpwnam(user).pw_uid
                layout.mount(device, user, mount_point, uid)
            else:
                filesystems.mount(device, mount_point, fstype)
    except BaseException:
        if volume.device is None:
            store.detach(user)
        raise
    return {"user": user, "mount_point": str(mount_point), "device": device, "filesystem": fstype}


def unmount_volume(store, user):
    """Unmount (refused while busy) and release the device; True if it was mounted."""
    mount_point = paths.mount_point(user)
    volume = store.get(user)
    was_mounted = mount_state(volume, mount_point) is not None
    device = volume.device if volume is not None else None
    with recovery.intent(user, recovery.UNMOUNTED):
        if layout.top_mounted(user, device) is not None:
            was_mounted = layout.unmount(user, device, mount_point)
        elif was_mounted:
            if not mounts.umount(mount_point):
                raise Refusal(filesystems.BUSY)
        elif volume is not None and volume.device is not None and in_use(volume.device):
            raise Refusal(f"{user}'s volume is mounted or in use elsewhere")
        if volume is not None:
            store.detach(user)
    return was_mounted


@contextlib.contextmanager
def root_fd(store, user):
    """An fd on the root of the user's mounted volume, opened without
    following any symlink and checked to be that filesystem's root."""
    volume = require_volume(store, user)
    mount_point = paths.mount_point(user)
    table = mounts.table()
    if mounted_filesystem(volume, mount_point, table) is None:
        raise Refusal(f"{user}'s volume is not mounted; mount it first")
    fd = os.open(mount_point, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        # The volume's filesystem, not the bare directory under the mount
        # (btrfs gives its root another st_dev than mountinfo shows, so the
        # test is "not the parent's filesystem").
        if os.fstat(fd).st_dev == os.stat(mount_point.parent).st_dev:
            raise Refusal(f"{mount_point} is not the root of {user}'s volume")
        yield fd
    finally:
        os.close(fd)


def mounted_fstype(store, user):
    """The filesystem type of the user's mounted volume; refused when not mounted."""
    volume = require_volume(store, user)
    fstype = mount_state(volume, paths.mount_point(user))
    if fstype is None:
        raise Refusal(f"{user}'s volume is not mounted; mount it first")
    return fstype


@dataclass
class GrowPlan:
    """How a volume's filesystem will grow, decided before anything changes."""

    user: str
    mount_point: Path
    fstype: str | None
    mounted: bool
    offline: bool
    released: bool = False


@contextlib.contextmanager
def growing(plan):
    """The steps of a grow: termination signals wait until they end, and a
    volume unmounted for an offline grow is mounted again by the next run
    if this one is killed before it could (recovery.py)."""
    with crashsafe.deferred():
        if not plan.mounted:
            yield
            return
        with recovery.intent(plan.user, recovery.MOUNTED):
            yield


def plan_grow(store, volume):
    mount_point = paths.mount_point(volume.user)
    fstype = mount_state(volume, mount_point)
    mounted = fstype is not None
    if not mounted:
        probe = store.probe_path(volume.user)
        fstype = filesystems.detect(probe) if probe else None
    if fstype is not None:
        filesystems.require_supported(fstype)
    offline = fstype == "ext4" and not (mounted and filesystems.grows_online(fstype))
    return GrowPlan(volume.user, mount_point, fstype, mounted, offline)


def release_for_offline(store, plan):
    """Unmount for an offline grow. Refused, with nothing changed, while
    anything holds the volume: its files, or a mount in another namespace."""
    if not (plan.offline and plan.mounted):
        return
    if not mounts.umount(plan.mount_point):
        raise Refusal(filesystems.BUSY)
    plan.released = True
    if in_use(store.device(plan.user)):
        restore_mount(store, plan)
        raise Refusal(filesystems.BUSY)


def restore_mount(store, plan):
    if plan.released:
        filesystems.mount(store.device(plan.user), plan.mount_point, plan.fstype)
        plan.released = False


def _temporary_mount(device, user, fstype):
    # btrfs and xfs grow only while mounted: somewhere private, for a moment.
    return private_mounts.mounted(
        device, user, fstype, filesystems.MOUNT_OPTIONS[filesystems.require_supported(fstype)]
    )


def _grow_ext4_online_or_offline(store, plan, device):
    try:
        filesystems.grow_online("ext4", device, plan.mount_point)
        return "online"
    except Failure as error:
        # The kernel refused after all: offline, if nothing holds the volume.
        plan.offline = True
        try:
            release_for_offline(store, plan)
        except Refusal:
            raise Failure(
                f"the volume grew but its filesystem could not grow online ({error})"
                f" and {filesystems.BUSY}: then run resize2fs"
            ) from None
    filesystems.grow_offline_ext4(device)
    return "offline"


def grow(store, plan):
    """Grow the filesystem to fill the volume: "online", "offline", or None
    when there is no filesystem. A volume unmounted for it is mounted again."""
    if plan.fstype is None:
        return None
    try:
        if plan.offline:
            with attached(store, plan.user) as device:
                filesystems.grow_offline_ext4(device)
            return "offline"
        if plan.mounted:
            device = store.device(plan.user)
            if plan.fstype == "ext4":
                return _grow_ext4_online_or_offline(store, plan, device)
            filesystems.grow_online(plan.fstype, device, plan.mount_point)
            return "online"
        with (
            attached(store, plan.user) as device,
            _temporary_mount(device, plan.user, plan.fstype) as where,
        ):
            filesystems.grow_online(plan.fstype, device, where)
        return "online"
    finally:
        restore_mount(store, plan)


def format_command(fstype):
    """main() of mkfs-<fstype>.py: format USER's volume, never over data."""

    def main(args):
        (user,) = validate.arguments(args, "USER")
        name = validate.managed_account(user).pw_name
        with locks.volume_lock(name):
            return {"user": name, "filesystem": format_volume(backend(), name, fstype)}

    return main
