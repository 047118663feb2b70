"""Storage backends: one volume per backup account.

``backend()`` returns the module named by the ``BACKEND`` setting. Both
backends offer the same functions, so no wrapper cares which one runs:

- ``get(user)``: the user's Volume, or None;
- ``list_all()``: every volume, found with one look at the pool (no
  per-volume command);
- ``pool()``: the Pool, with its free space;
- ``create(user, gib)``, ``extend(user, new_gib)``, ``remove(user)``;
- ``device(user, attach=False)``: the block device behind the volume, or
  None when it has none right now; ``attach=True`` makes one (loop device,
  LV activation) or refuses when this host can't;
- ``detach(user)``: releases what ``device(attach=True)`` made, when the
  backend holds anything per attached volume; True when it released
  something;
- ``probe_path(user)``: a path blkid can read the volume's filesystem
  signature from without side effects, or None when the volume can't hold
  a filesystem here.

Callers hold the volume's lock (and the pool lock while taking space).
"""

import errno
import os
from collections import namedtuple

from .. import mounts, paths
from ..config import settings
from ..errors import Refusal

GIB = 1 << 30

# Named tuples, not dataclasses: every query wrapper builds these, and
# importing dataclasses (inspect, ast, dis...) cost more than the query.
# device: the block device path, or None while the volume has none.
Volume = namedtuple("Volume", ("user", "size_bytes", "device"))


POOL_FIELDS = (
    "backend", "name", "size_bytes", "allocated_bytes", "used_bytes", "free_bytes", "volume_count"
)  # fmt: skip


class Pool(namedtuple("Pool", POOL_FIELDS)):
    __slots__ = ()

    def as_dict(self):
        return self._asdict()


def backend():
    """The configured backend module."""
    name = settings().BACKEND
    if name == "loopfile":
        from . import loopfile

        return loopfile
    if name == "lvm":
        from . import lvm

        return lvm
    raise Refusal(f"unknown storage backend {name!r} in the wrapper settings")


def in_use(device):
    """True when the block device is mounted or held open exclusively, in
    this mount namespace or any other (what O_EXCL means for a block device)."""
    try:
        fd = os.open(device, os.O_RDONLY | os.O_EXCL | os.O_CLOEXEC)
    except OSError as error:
        if error.errno == errno.EBUSY:
            return True
        raise
    os.close(fd)
    return False


def same_device(first, second):
    """True when two device paths name the same block device."""
    try:
        return os.stat(first).st_rdev == os.stat(second).st_rdev
    except OSError:
        return False


def mounted_filesystem(volume, mount_point, mount_table):
    """The filesystem type of volume when it is mounted at mount_point, else None."""
    entry = mounts.mounted_at(mount_point, mount_table)
    if entry is None or volume is None or volume.device is None:
        return None
    source, fstype, _ = entry
    return fstype if same_device(source, volume.device) else None


def describe(volume, root, mount_table):
    """The JSON form of a volume (see wrappers/README.md)."""
    # Built from the name alone: a report never refuses because one mount
    # point is odd; the wrappers that act check it with paths.mount_point().
    mount_point = os.path.join(root, volume.user)
    fstype = mounted_filesystem(volume, mount_point, mount_table)
    return {
        "user": volume.user,
        "size_bytes": volume.size_bytes,
        "device": volume.device,
        "mount_point": mount_point,
        "mounted": fstype is not None,
        "filesystem": fstype,
    }


def inventory(mount_table=None):
    """Every volume, described: one backend listing, one mount table read
    (mount_table: one the caller read already, to use for the rest of its run)."""
    store = backend()
    volumes = store.list_all()
    root = paths.directories_root()
    table = mount_table if mount_table is not None else mounts.table()
    return {
        "backend": settings().BACKEND,
        "volumes": [describe(volume, root, table) for volume in volumes],
    }
