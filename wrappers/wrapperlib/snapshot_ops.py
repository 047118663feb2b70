"""Taking, listing, measuring and deleting one volume's snapshots.

Callers have validated the user and hold the volume's lock. Every deletion
goes through ``delete``, which asks ``snapshots.require_unprotected`` first:
there is no other path to deleting a snapshot.
"""

import contextlib
import os
import stat
import struct
import time
from datetime import datetime

from . import (
    btrfs_changes,
    commands,
    crashsafe,
    filesystems,
    layout,
    mounts,
    paths,
    records,
    snapshots,
    storage,
)
from .config import settings
from .errors import Failure, Refusal
from .storage import actions

SUBVOLUME_SYNC_SECONDS = 120
# _IOW(0x94, 23, struct btrfs_ioctl_vol_args_v2): 4096 bytes; fd (s64),
# transid, flags, a 32-byte union, then the new subvolume's name.
BTRFS_IOC_SNAP_CREATE_V2 = 0x50009417
SNAP_CREATE_ARGS_SIZE = 4096
SNAP_CREATE_NAME_OFFSET = 56
BTRFS_SUBVOL_RDONLY = 1 << 1
# _IOW(0x94, 15, struct btrfs_ioctl_vol_args): 4096 bytes; fd (s64, unused
# here), then the name of the subvolume to delete in the directory given.
BTRFS_IOC_SNAP_DESTROY = 0x5000940F
SNAP_DESTROY_ARGS_SIZE = 4096
SNAP_DESTROY_NAME_OFFSET = 8


def top_level(user: str, mount_table: dict | None = None) -> str | None:
    """<SNAPSHOTS_ROOT>/<user> when the volume's data and top level are both
    mounted with the snapshot layout; None when the volume has no snapshots
    (ext4, xfs, an older btrfs without the layout, or not mounted).

    mount_table: the run's mount table, read once for every volume. One read
    before this volume's lock was taken can only be stale about a volume
    mounted or unmounted meanwhile: an unmounted top level holds no layout
    (has_layout is checked now), and snapshot_volume looks again at a volume
    the table doesn't show mounted."""
    store = storage.backend()
    volume = store.get(user)
    if volume is None or volume.device is None:
        return None
    table = mount_table if mount_table is not None else mounts.table()
    fstype = storage.mounted_filesystem(volume, paths.mount_point(user), table)
    if fstype != "btrfs":
        return None
    top = layout.top_mounted(user, volume.device, table)
    if top is None or not layout.has_layout(top):
        return None
    return os.fspath(top)


@contextlib.contextmanager
def writable(user: str):
    """The top level of user's volume, writable, somewhere only root can
    reach, for the duration of one change (the shared mount is read-only)."""
    device = storage.backend().device(user)
    if device is None:
        raise Refusal(f"{user}'s volume is not attached")
    # A relayed SIGTERM waits until the change is done and the private
    # mount released (SIGKILL: the next run releases it).
    with crashsafe.deferred(), layout.private_top(device, user) as top:
        kind = layout.classify(top)
        if kind == "legacy":
            raise Refusal(f"{user}'s volume has no snapshot layout")
        if kind == "repair":
            # What a stopped rollback left beside data goes first.
            import pwd

            layout.complete(top, pwd.getpwnam(user).pw_uid)
        yield top


def require_top_level(user: str) -> str:
    top = top_level(user)
    if top is None:
        raise Refusal(f"{user}'s volume has no snapshots (they need a mounted btrfs volume)")
    return top


def _folder(top):
    return os.path.join(top, layout.SNAPSHOTS)


def names(top: str) -> list[str]:
    """The snapshots, oldest first: read-only subvolumes whose names are
    snapshot names (the folder is root's; anything else there is ignored)."""
    found = []
    with os.scandir(_folder(top)) as entries:
        for entry in entries:
            if snapshots.taken_at(entry.name) is None:
                continue
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode) and info.st_ino == layout.SUBVOLUME_ROOT_INO:
                found.append(entry.name)
    return sorted(found, key=snapshots.taken_at)


def path_of(top: str, name: str) -> str:
    """The path of an existing snapshot; refused when there is none."""
    snapshots.snapshot_name(name)
    if name not in names(top):
        raise Refusal(f"there is no snapshot {name}")
    return os.path.join(_folder(top), name)


def take(top: str, moment: datetime) -> str:
    """A read-only snapshot of data in snapshots/, named after moment.

    One BTRFS_IOC_SNAP_CREATE_V2 with the read-only flag: what ``btrfs
    subvolume snapshot -r`` does, without a process per volume. Both ends
    are opened without following links, relative to the private top."""
    import fcntl

    name = snapshots.name_for(moment)
    if os.path.lexists(os.path.join(_folder(top), name)):
        raise Refusal(f"a snapshot was already taken at {snapshots.iso(moment)}")
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    crashsafe.step()
    source = os.open(os.path.join(top, layout.DATA), flags)
    try:
        folder = os.open(_folder(top), flags)
        try:
            arguments = bytearray(SNAP_CREATE_ARGS_SIZE)
            struct.pack_into("=qQQ", arguments, 0, source, 0, BTRFS_SUBVOL_RDONLY)
            encoded = os.fsencode(name)
            arguments[SNAP_CREATE_NAME_OFFSET : SNAP_CREATE_NAME_OFFSET + len(encoded)] = encoded
            try:
                fcntl.ioctl(folder, BTRFS_IOC_SNAP_CREATE_V2, arguments)
            except OSError as error:
                raise Failure(f"could not take the snapshot: {error.strerror}") from None
        finally:
            os.close(folder)
    finally:
        os.close(source)
    return name


def delete(top: str, name: str, moment: datetime) -> None:
    """One BTRFS_IOC_SNAP_DESTROY on the snapshots folder, opened without
    following links: what ``btrfs subvolume delete`` does, without a process
    per pruned snapshot (issue 25)."""
    import fcntl

    snapshots.require_unprotected(name, moment)
    path_of(top, name)  # refused when there is no such snapshot
    crashsafe.step()
    folder = os.open(_folder(top), os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        arguments = bytearray(SNAP_DESTROY_ARGS_SIZE)
        encoded = os.fsencode(name)
        arguments[SNAP_DESTROY_NAME_OFFSET : SNAP_DESTROY_NAME_OFFSET + len(encoded)] = encoded
        try:
            fcntl.ioctl(folder, BTRFS_IOC_SNAP_DESTROY, arguments)
        except OSError as error:
            raise Failure(f"could not delete snapshot {name}: {error.strerror}") from None
    finally:
        os.close(folder)


def usage(top: str) -> dict:
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        return filesystems.usage(fd)
    finally:
        os.close(fd)


def change_since_previous(top: str, name: str, earlier: list[str]) -> dict:
    """volresult's change figures for snapshot name (btrfs_changes.report)."""
    config = settings()
    return btrfs_changes.report(
        _folder(top),
        os.path.join(top, layout.DATA),
        name,
        earlier,
        time.monotonic() + config.SNAPSHOT_CHANGE_MAX_SECONDS,
        config.SNAPSHOT_CHANGE_MAX_EXTENTS,
    )


def _free_percent(top):
    figures = usage(top)
    return 100 * figures["free_bytes"] / max(1, figures["size_bytes"])


def prune(top: str, moment: datetime) -> list[str]:
    """Delete what retention doesn't keep; then, while free space is below
    SNAPSHOT_MIN_FREE_PERCENT, unprotected snapshots in low_space_order (the
    finest-grained first, the monthly ones last, never the newest). Returns
    the names deleted, in the order they went."""
    existing = names(top)
    keep = snapshots.to_keep(existing, moment)
    pruned = []
    for name in existing:
        if name not in keep:
            delete(top, name, moment)
            pruned.append(name)
    remaining = [name for name in existing if name in keep]
    threshold = settings().SNAPSHOT_MIN_FREE_PERCENT
    candidates = snapshots.low_space_order(remaining, moment)
    while candidates and _free_percent(top) < threshold:
        name = candidates.pop(0)
        delete(top, name, moment)
        pruned.append(name)
        # Space comes back only once btrfs has cleaned the deleted subvolume.
        commands.run(["btrfs", "subvolume", "sync", top], timeout=SUBVOLUME_SYNC_SECONDS)
    return pruned


def listing(user: str, mount_table: dict | None = None) -> dict:
    """snapshot-list.py's entry for one volume (mount_table: the run's, read
    once for every volume)."""
    top = top_level(user, mount_table)
    if top is None:
        volume_usage = _data_usage(user, mount_table)
        return {"supported": False, "snapshots": [], "snapshot_bytes": None, **volume_usage}
    moment = snapshots.now()
    figures = usage(top)
    # Quota groups are accounted when a transaction commits: commit first,
    # through the writable data mount (the top level is mounted read-only).
    commands.run(["btrfs", "filesystem", "sync", str(paths.mount_point(user))], check=False)
    exclusive = space(top)
    # At least what deleting every snapshot would give back: what each holds
    # alone (blocks only some snapshots share, with each other, are not in
    # it). None on a volume made before quota groups were enabled.
    held = sum(exclusive.values()) if exclusive or names(top) == [] else None
    described = [snapshots.describe(name, moment) for name in names(top)]
    for entry in described:
        entry["exclusive_bytes"] = exclusive.get(entry["name"])
    return {
        "supported": True,
        "snapshots": described,
        "snapshot_bytes": held,
        "used_bytes": figures["stored_bytes"],
        "size_bytes": figures["size_bytes"],
    }


def space(top: str) -> dict[str, int]:
    """{snapshot: bytes it alone holds}, from the filesystem's quota groups
    ({} on a volume made before they were enabled). Only rows naming a
    snapshot by our own naming are read (a backup account can't make
    subvolumes over SMB, and a row that looks like one anyway is ignored
    unless it matches)."""
    completed = commands.run(["btrfs", "qgroup", "show", "--raw", top], check=False)
    exclusive = {}
    if completed.returncode != 0:
        return exclusive
    for line in completed.stdout.splitlines():
        fields = line.split(None, 3)
        if len(fields) != 4 or not fields[1].isdigit() or not fields[2].isdigit():
            continue
        name = fields[3].strip().removeprefix(f"{layout.SNAPSHOTS}/")
        if fields[3].strip().startswith(
            f"{layout.SNAPSHOTS}/"
        ) and snapshots.NAME_PATTERN.fullmatch(name):
            exclusive[name] = int(fields[2])
    return exclusive


def _data_usage(user, mount_table=None):
    mount_point = paths.mount_point(user)
    table = mount_table if mount_table is not None else mounts.table()
    if storage.mounted_filesystem(storage.backend().get(user), mount_point, table) is None:
        return {"used_bytes": 0, "size_bytes": 0}
    fd = os.open(mount_point, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        figures = filesystems.usage(fd)
    finally:
        os.close(fd)
    return {"used_bytes": figures["stored_bytes"], "size_bytes": figures["size_bytes"]}


def unsupported_result(
    user: str, error: str | None = None, mount_table: dict | None = None
) -> dict:
    """VOLRESULT for a volume that has no snapshots (or could not be looked at)."""
    figures = {"used_bytes": 0, "size_bytes": 0} if error else _data_usage(user, mount_table)
    return {
        "supported": False,
        "snapshot": None,
        "changed_bytes": None,
        "changed_files": None,
        "change": None,
        "window_change": None,
        "holds_bytes": None,
        "pruned": [],
        "error": error,
        **figures,
    }


def snapshot_volume(user: str, moment: datetime, mount_table: dict | None = None) -> dict:
    """The scheduled run for one volume: take, measure, prune (VOLRESULT).
    mount_table: the run's, read once (see top_level)."""
    top = top_level(user, mount_table)
    if top is None and mount_table is not None:
        # Not confirmed by the run's table: it may predate what the lock's
        # recovery just mounted again. Rare (a legacy btrfs, a stopped run),
        # so only these volumes read the table afresh.
        mount_table = None
        top = top_level(user)
    if top is None:
        return unsupported_result(user, mount_table=mount_table)
    if records.suspended(user):
        # Mounted only while resume.py runs; a new snapshot would be
        # protected past the destruction date the portal has recorded.
        return unsupported_result(user, f"{user}'s volume is suspended; no snapshot is taken")
    with writable(user) as top_rw:
        result = _take_measure_prune(top_rw, moment)
    figures = usage(top)
    # What the volume held (see filesystems.usage), as the change is read against.
    return {**result, "used_bytes": figures["stored_bytes"], "size_bytes": figures["size_bytes"]}


def _take_measure_prune(top, moment):
    previous = names(top)
    name = take(top, moment)
    result = {
        "supported": True,
        "snapshot": name,
        "changed_bytes": None,
        "changed_files": None,
        "change": None,
        "window_change": None,
        "holds_bytes": None,
        "pruned": [],
    }
    try:
        result.update(change_since_previous(top, name, previous))
        result["pruned"] = prune(top, moment)
        result["error"] = None
    except (Refusal, Failure, OSError) as error:
        # The snapshot is taken; what failed after it is reported with it.
        result["error"] = str(error)
    return result


def protection_end_unmounted(store, user: str, moment: datetime) -> datetime | None:
    """When the last protected snapshot of user's unmounted volume stops
    being protected; None when none is (or the volume holds no snapshots).
    The top level is mounted read-only somewhere private to look.
    The answer never depends on the rest of the layout being whole (a
    volume whose data went missing still has its snapshots), and snapshots
    that can't be listed count as protected: refused, saying so."""
    probe = store.probe_path(user)
    if probe is None or filesystems.detect(probe) != "btrfs":
        return None
    with (
        actions.attached(store, user) as device,
        layout.private_top(device, user, read_only=True) as top,
    ):
        if not os.path.lexists(_folder(top)):
            return None  # made before the layout: it never had snapshots
        try:
            listed = names(top)
        except OSError as error:
            raise Refusal(
                f"{user}'s snapshots can't be listed ({error.strerror}); they count as"
                " protected, so the volume is kept"
            ) from None
        protected = [name for name in listed if snapshots.is_protected(name, moment)]
    # Not the newest's: an hour's first snapshot outlives the ones after it.
    return max((snapshots.protected_until(name) for name in protected), default=None)
