"""Mount table reading (from /proc, no fork) and mount/umount."""

import errno
import os

from . import commands
from .errors import Failure

MNT_DETACH = 2
# The path's last component is never followed: a link there unmounts nothing.
UMOUNT_NOFOLLOW = 8


def _unescape(field):
    # mountinfo escapes space, tab, newline and backslash as \ooo.
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def table():
    """{mount point: (source, fstype, major:minor)} from /proc/self/mountinfo."""
    mounts = {}
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as mountinfo:
        for line in mountinfo:
            fields = line.split()
            separator = fields.index("-")
            mount_point = _unescape(fields[4])
            fstype, source = fields[separator + 1], _unescape(fields[separator + 2])
            mounts[mount_point] = (source, fstype, fields[2])
    return mounts


def mounted_at(path, mount_table=None):
    """(source, fstype, major:minor) of what is mounted at path, or None."""
    return (mount_table if mount_table is not None else table()).get(os.fspath(path))


def mount(device, path, fstype, options):
    commands.run(["mount", "-t", fstype, "-o", options, "--", device, os.fspath(path)])


# mount(2) flags for the options that are flags, not filesystem data.
MOUNT_FLAGS = {"ro": 1, "nosuid": 2, "nodev": 4, "noexec": 8}


def mount_directly(device, path, fstype, options):
    """mount(2), without starting mount(8): for root's private mounts,
    made and released once per volume on every scheduled run. The same
    options as mount(): flags split out, the rest handed to the filesystem."""
    import ctypes

    from . import crashsafe

    names = options.split(",")
    flags = sum(MOUNT_FLAGS[name] for name in names if name in MOUNT_FLAGS)
    data = ",".join(name for name in names if name not in MOUNT_FLAGS)
    crashsafe.step()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(os.fsencode(device), os.fsencode(path), fstype.encode(), flags, data.encode()):
        code = ctypes.get_errno()
        raise Failure(f"cannot mount {device} at {path}: {os.strerror(code)}")


def umount(path):
    """Unmount; returns False (and changes nothing) when the volume is busy."""
    # Imported here, not for every reader of the mount table.
    import ctypes

    from . import crashsafe

    crashsafe.step()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.umount2(os.fsencode(path), UMOUNT_NOFOLLOW) == 0:
        return True
    code = ctypes.get_errno()
    if code == errno.EBUSY:
        return False
    raise Failure(f"cannot unmount {path}: {os.strerror(code)}")
