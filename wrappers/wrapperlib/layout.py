"""The btrfs volume layout that makes protected snapshots possible.

The filesystem's top level holds the subvolume ``data`` (the user's files,
the only part mounted at the share path, with ``subvol=data``) and root's
directory ``snapshots/`` of read-only snapshots of ``data``. Root mounts the
top level at <SNAPSHOTS_ROOT>/<user>: the backup account may list and read
it (so smbd, running as the user, serves Previous Versions) but owns
nothing there, so it can't rename, delete, change or hide a snapshot.

That mount is read-only: the snapshot's root directory is a copy of the
data's, owned by the user, and the owner of a subvolume may clear its
read-only flag (BTRFS_IOC_SUBVOL_SETFLAGS) through any writable mount; the
ransomware drill found that. Root changes snapshots through a private,
writable mount of the top level (``private_top``), made for each operation
in a directory only root can enter.

A btrfs volume made before this layout (no ``data`` subvolume) is mounted
whole, as before, and has no snapshots.
"""

import contextlib
import os
import stat

from . import acls, atomic_files, commands, crashsafe, filesystems, mounts, paths, private_mounts
from .errors import Failure, Refusal
from .storage import same_device

DATA = "data"
SNAPSHOTS = "snapshots"
# The inode number of every btrfs subvolume's root directory.
SUBVOLUME_ROOT_INO = 256
TOP_OPTIONS = "subvolid=5"
SHARED_TOP_OPTIONS = f"{TOP_OPTIONS},ro"
DATA_OPTIONS = f"subvol={DATA}"
# Beside data while a rollback runs: the copy of the snapshot that becomes
# data (and, after the exchange, the data it replaced).
ROLLBACK = "data.rollback"
# What a rollback of an earlier version renamed data to (see complete()).
REPLACED = "data.replaced"
LEFTOVERS = (ROLLBACK, REPLACED)
RENAME_EXCHANGE = 2


def _options(extra):
    return f"{filesystems.MOUNT_OPTIONS['btrfs']},{extra}"


def private_top(device, user, *, read_only=False):
    """The top level of the btrfs on device, mounted at user's private point
    for the duration (private_mounts.py: released on every way out, and by
    the next run when a wrapper was killed)."""
    extra = f"{TOP_OPTIONS},ro" if read_only else TOP_OPTIONS
    return private_mounts.mounted(device, user, "btrfs", _options(extra))


def make(device, user, uid: int) -> None:
    """Lay out a freshly made btrfs: the data subvolume and the snapshots
    folder, both of which uid may read and neither of which it owns."""
    with private_top(device, user) as top:
        # Quota groups account what each subvolume holds alone: how the pages
        # can say how much of the volume the snapshots hold. (A higher-level
        # group of all snapshots would count blocks they share only among
        # themselves too, but adding a snapshot to it makes the accounting
        # inconsistent until a full rescan.) A few dozen snapshots per volume
        # keep the bookkeeping cheap.
        commands.run(["btrfs", "quota", "enable", top])
        complete(top, uid)


def complete(top, uid: int) -> None:
    """Make the layout whole, whatever step a stopped mkfs-btrfs.py or
    rollback left it at (each of these states is one of its steps):

    - ``snapshots/`` comes first, root's: from then on the volume is known
      to have the layout, so it is never mounted whole;
    - ``data`` is made only while there are no snapshots and nothing else
      (a new volume); a volume whose data was renamed away by an
      interrupted rollback of an earlier version gets it back (that
      rollback kept its state as a snapshot first, but the data is the
      newest copy);
    - what an interrupted rollback left beside ``data`` is deleted: either
      the unused copy of a snapshot, or the replaced data, which it had
      kept as a snapshot before replacing it.

    Refused (nothing exposed) when ``data`` is gone and can't be made back
    without losing anything: the snapshots stay, protected."""
    snapshots_path = os.path.join(top, SNAPSHOTS)
    if not os.path.lexists(snapshots_path):
        crashsafe.step()
        os.mkdir(snapshots_path, 0o700)
    for path in (top, snapshots_path):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            info = os.fstat(fd)
            if info.st_uid != 0 or stat.S_IMODE(info.st_mode) != 0o750:
                crashsafe.step()
                os.fchown(fd, 0, 0)
                os.fchmod(fd, 0o750)
                acls.readable_by(fd, uid)
        finally:
            os.close(fd)
    if not _is_subvolume(os.path.join(top, DATA)):
        _bring_back_data(top)
    for leftover in LEFTOVERS:
        if os.path.lexists(os.path.join(top, leftover)):
            delete_subvolume_tree(top, leftover)


def _bring_back_data(top):
    data = os.path.join(top, DATA)
    if os.path.lexists(data):
        raise Refusal("the volume's data is not a subvolume; it is not shared")
    replaced = os.path.join(top, REPLACED)
    if _is_subvolume(replaced):
        crashsafe.step()
        os.rename(replaced, data)
        return
    entries = set(os.listdir(top)) - {SNAPSHOTS}
    if entries or os.listdir(os.path.join(top, SNAPSHOTS)):
        raise Refusal(
            "the volume has lost its data subvolume, so it is not shared; its snapshots are"
            " kept (an administrator can roll it back to one)"
        )
    commands.run(["btrfs", "subvolume", "create", data])


def _is_subvolume(path):
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_ino == SUBVOLUME_ROOT_INO


def nested_subvolumes(top, name) -> list[str]:
    """The subvolumes inside top/name (a backup account can make them in
    its data: ``btrfs subvolume create`` needs no privilege), deepest
    first, as paths under top. ``btrfs subvolume list -o`` names only a
    subvolume's own children, so each found one is asked in turn. A line
    forged by a name holding a newline can only name a path that is checked
    here to be a subvolume under top/name, which is deleted anyway."""
    real_top = os.path.realpath(top)
    found, waiting = [], [name]
    while waiting:
        parent = waiting.pop()
        listed = commands.run(["btrfs", "subvolume", "list", "-o", os.path.join(top, parent)])
        for line in listed.stdout.splitlines():
            _, separator, relative = line.partition(" path ")
            if not separator or not relative.startswith(f"{parent}/"):
                continue
            parts = relative.split("/")
            if any(part in ("", ".", "..") for part in parts):
                continue
            path = os.path.join(top, *parts)
            real = os.path.realpath(path) == os.path.join(real_top, *parts)
            if real and _is_subvolume(path) and path not in found:
                found.append(path)
                waiting.append(relative)
    return sorted(found, key=lambda path: path.count("/"), reverse=True)


def delete_subvolume_tree(top, name) -> None:
    """Delete the subvolume top/name and every subvolume made inside it."""
    for path in nested_subvolumes(top, name):
        commands.run(["btrfs", "subvolume", "delete", path])
    commands.run(["btrfs", "subvolume", "delete", os.path.join(top, name)])


def exchange(top, first, second) -> None:
    """Swap two names in top at once (renameat2 RENAME_EXCHANGE): at every
    instant both exist, so a volume is never without its data."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    crashsafe.step()
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        if libc.renameat2(fd, os.fsencode(first), fd, os.fsencode(second), RENAME_EXCHANGE):
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code), os.path.join(top, first))
    finally:
        os.close(fd)


def has_layout(top) -> bool:
    """Whether the mounted top level holds the data subvolume and the
    snapshots folder, both real (no symlink) and root's."""
    try:
        data = os.lstat(os.path.join(top, DATA))
        snaps = os.lstat(os.path.join(top, SNAPSHOTS))
    except FileNotFoundError:
        return False
    return (
        stat.S_ISDIR(data.st_mode)
        and data.st_ino == SUBVOLUME_ROOT_INO
        and stat.S_ISDIR(snaps.st_mode)
        and snaps.st_uid == 0
    )


def _make_top_point(user):
    """<SNAPSHOTS_ROOT>/<user>, made (and chmod'ed through its own
    descriptor) relative to SNAPSHOTS_ROOT's: never through a link."""
    point = paths.top_level_point(user)
    if os.path.lexists(point):
        return point
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    root = os.open(point.parent, flags)
    try:
        crashsafe.step()
        os.mkdir(point.name, 0o755, dir_fd=root)
        fd = os.open(point.name, flags, dir_fd=root)
        try:
            os.fchmod(fd, 0o755)
        finally:
            os.close(fd)
    finally:
        os.close(root)
    return point


def remove_top_point(point):
    crashsafe.step()
    with contextlib.suppress(OSError):
        os.rmdir(point)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(_samba_include(point))


def _samba_include(point):
    return f"{point}.conf"


def _write_samba_include(point):
    """<SNAPSHOTS_ROOT>/<user>.conf, which the share's configuration
    includes (as %U.conf): shadow_copy2 doesn't expand %S in its own
    parameters, so each volume's snapshot folder is named here. Written
    relative to SNAPSHOTS_ROOT's descriptor (root's alone), the temporary
    made with O_EXCL and chmod'ed through its own descriptor."""
    directory = os.open(
        os.path.dirname(point), os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    )
    try:
        atomic_files.replace(
            directory,
            os.path.basename(_samba_include(point)),
            f"shadow:snapdir = {os.path.join(point, SNAPSHOTS)}\n",
            0o644,
        )
    finally:
        os.close(directory)


def classify(top) -> str:
    """What the mounted top level holds: "intact" (the layout, nothing left
    over), "legacy" (a btrfs made before the layout: the user's files),
    or "repair" (the layout, not whole: a stopped mkfs-btrfs.py or rollback;
    an empty filesystem too). Known from root's ``snapshots/`` folder, which
    a legacy volume never has (its top level is the user's) and which is
    made before anything else."""
    entries = set(os.listdir(top))
    snaps = os.path.join(top, SNAPSHOTS)
    if SNAPSHOTS in entries and os.lstat(snaps).st_uid == 0:
        intact = has_layout(top) and not entries & set(LEFTOVERS)
        return "intact" if intact else "repair"
    if not entries or (entries == {DATA} and _is_subvolume(os.path.join(top, DATA))):
        return "repair"
    return "legacy"


def mount(device, user, mount_point, uid, *, repaired=False) -> None:
    """Mount the top level at <SNAPSHOTS_ROOT>/<user> and the data
    subvolume at mount_point; a legacy volume whole, as before. Nothing
    else is ever mounted at mount_point: a layout that is not whole is
    completed first (complete()), or refused, never shared."""
    point = _make_top_point(user)
    if mounts.mounted_at(point) is not None:
        raise Refusal(f"something is already mounted at {point}")
    mounts.mount(device, point, "btrfs", _options(SHARED_TOP_OPTIONS))
    try:
        kind = classify(point)
        if kind == "intact":
            # The include first: it only names the snapshots folder, and a
            # share that is mounted always has it.
            _write_samba_include(point)
            mount_data(device, mount_point)
            return
    except BaseException:
        mounts.umount(point)
        remove_top_point(point)
        raise
    if not mounts.umount(point):
        raise Failure(f"could not unmount {point}")
    remove_top_point(point)
    if kind == "legacy":
        filesystems.mount(device, mount_point, "btrfs")
        return
    if repaired:
        raise Refusal("the volume's layout could not be repaired; it is not shared")
    with private_top(device, user) as top:
        complete(top, uid)
    mount(device, user, mount_point, uid, repaired=True)


def mount_data(device, mount_point) -> None:
    mounts.mount(device, mount_point, "btrfs", _options(DATA_OPTIONS))


def top_mounted(user, device, mount_table=None):
    """<SNAPSHOTS_ROOT>/<user> when the volume's top level is mounted there
    (from device), else None."""
    point = paths.top_level_point(user)
    entry = mounts.mounted_at(point, mount_table)
    if entry is None or device is None or not same_device(entry[0], device):
        return None
    return point


def unmount(user, device, mount_point) -> bool:
    """Unmount the data subvolume and the top level; refused while either
    is busy, with both as they were. True if anything was mounted."""
    point = top_mounted(user, device)
    data_mounted = mounts.mounted_at(mount_point) is not None
    if data_mounted and not mounts.umount(mount_point):
        raise Refusal(filesystems.BUSY)
    if point is None:
        return data_mounted
    if not mounts.umount(point):
        if data_mounted:
            mount_data(device, mount_point)
        raise Refusal(
            "the volume's snapshots are in use (a Previous Versions window is open);"
            " try again later"
        )
    remove_top_point(point)
    return True
