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

from . import acls, commands, filesystems, mounts, paths
from .errors import Failure, Refusal
from .storage import same_device

DATA = "data"
SNAPSHOTS = "snapshots"
# The inode number of every btrfs subvolume's root directory.
SUBVOLUME_ROOT_INO = 256
TOP_OPTIONS = "subvolid=5"
SHARED_TOP_OPTIONS = f"{TOP_OPTIONS},ro"
DATA_OPTIONS = f"subvol={DATA}"


def _options(extra):
    return f"{filesystems.MOUNT_OPTIONS['btrfs']},{extra}"


@contextlib.contextmanager
def private_top(device, *, read_only=False):
    """The top level of the btrfs on device, mounted somewhere private for
    the duration (making the layout, checking protection while unmounted)."""
    # Imported here: snapshot listings (on every dashboard) never get this far.
    import tempfile

    where = tempfile.mkdtemp(prefix="backupmanagement-top-")
    try:
        extra = f"{TOP_OPTIONS},ro" if read_only else TOP_OPTIONS
        mounts.mount(device, where, "btrfs", _options(extra))
        try:
            yield where
        finally:
            if not mounts.umount(where):
                raise Failure(f"could not unmount {where}")
    finally:
        os.rmdir(where)


def make(device, uid: int) -> None:
    """Lay out a freshly made btrfs: the data subvolume and the snapshots
    folder, both of which uid may read and neither of which it owns."""
    with private_top(device) as top:
        # Quota groups account what each subvolume holds alone: how the pages
        # can say how much of the volume the snapshots hold. (A higher-level
        # group of all snapshots would count blocks they share only among
        # themselves too, but adding a snapshot to it makes the accounting
        # inconsistent until a full rescan.) A few dozen snapshots per volume
        # keep the bookkeeping cheap.
        commands.run(["btrfs", "quota", "enable", top])
        commands.run(["btrfs", "subvolume", "create", os.path.join(top, DATA)])
        os.mkdir(os.path.join(top, SNAPSHOTS), 0o700)
        for path in (top, os.path.join(top, SNAPSHOTS)):
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
            try:
                os.fchown(fd, 0, 0)
                os.fchmod(fd, 0o750)
                acls.readable_by(fd, uid)
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
    point = paths.top_level_point(user)
    if not os.path.lexists(point):
        os.mkdir(point, 0o755)
        os.chmod(point, 0o755)
    return point


def _remove_top_point(point):
    with contextlib.suppress(OSError):
        os.rmdir(point)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(_samba_include(point))


def _samba_include(point):
    return f"{point}.conf"


def _write_samba_include(point):
    """<SNAPSHOTS_ROOT>/<user>.conf, which the share's configuration
    includes (as %U.conf): shadow_copy2 doesn't expand %S in its own
    parameters, so each volume's snapshot folder is named here."""
    target = _samba_include(point)
    temporary = f"{target}.new"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(f"shadow:snapdir = {os.path.join(point, SNAPSHOTS)}\n")
    os.chmod(temporary, 0o644)
    os.replace(temporary, target)


def mount(device, user, mount_point) -> None:
    """Mount the top level at <SNAPSHOTS_ROOT>/<user> and the data
    subvolume at mount_point; a volume without the layout whole, as before."""
    point = _make_top_point(user)
    if mounts.mounted_at(point) is not None:
        raise Refusal(f"something is already mounted at {point}")
    mounts.mount(device, point, "btrfs", _options(SHARED_TOP_OPTIONS))
    try:
        if has_layout(point):
            mount_data(device, mount_point)
            _write_samba_include(point)
            return
    except BaseException:
        mounts.umount(point)
        _remove_top_point(point)
        raise
    if not mounts.umount(point):
        raise Failure(f"could not unmount {point}")
    _remove_top_point(point)
    filesystems.mount(device, mount_point, "btrfs")


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
    _remove_top_point(point)
    return True
