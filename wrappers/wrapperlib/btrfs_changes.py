"""How much changed between two snapshots, without reading one file name.

What ``btrfs subvolume find-new`` does, done here through the same ioctl
(BTRFS_IOC_TREE_SEARCH over the new snapshot's file extents, keeping those
written after the previous snapshot's generation): find-new prints each
file's name after its figures, and a name holding a newline could forge
lines; the ioctl returns only numbers. Files counted are those with data
written since (distinct inodes), bytes the length of those extents. Renames
and deletions write no data and are not counted.
"""

import fcntl
import os
import re
import struct
import time

from . import commands
from .errors import Failure

# _IOWR(0x94, 17, struct btrfs_ioctl_search_args): a 4096-byte argument.
BTRFS_IOC_TREE_SEARCH = 0xD0009411
SEARCH_ARGS_SIZE = 4096
# struct btrfs_ioctl_search_key: tree_id, min/max objectid, min/max offset,
# min/max transid (u64), min/max type, nr_items, unused (u32), 4 x u64 unused.
KEY = struct.Struct("=7Q4I4Q")
# struct btrfs_ioctl_search_header: transid, objectid, offset (u64), type, len (u32).
HEADER = struct.Struct("=3Q2I")
# struct btrfs_file_extent_item, packed: generation, ram_bytes (u64),
# compression, encryption (u8), other_encoding (u16), type (u8), then for
# regular and preallocated extents disk_bytenr, disk_num_bytes, offset, num_bytes.
EXTENT = struct.Struct("=2QBBHB4Q")
EXTENT_INLINE = 0
EXTENT_DATA_KEY = 108
U64_MAX = (1 << 64) - 1
# find-new takes a signed 64-bit generation.
I64_MAX = (1 << 63) - 1
BATCH = 4096
TRANSID_MARKER = re.compile(r"transid marker was ([0-9]{1,20})")


def generation(snapshot_path) -> int:
    """The generation a (read-only) snapshot was taken at."""
    completed = commands.run(
        ["btrfs", "subvolume", "find-new", os.fspath(snapshot_path), str(I64_MAX)], timeout=60
    )
    # With the highest generation there is, find-new lists no file and
    # prints only this marker line.
    found = TRANSID_MARKER.fullmatch(completed.stdout.strip())
    if not found:
        raise Failure("btrfs subvolume find-new gave no generation")
    return int(found.group(1))


def _extent_length(item):
    if len(item) < 21:
        return 0
    fields = EXTENT.unpack_from(item.ljust(EXTENT.size, b"\0"))
    if fields[5] == EXTENT_INLINE:
        return fields[1]
    return fields[9] if len(item) >= EXTENT.size else 0


def measure(snapshot_path, since_generation: int, max_seconds: float, max_extents: int) -> dict:
    """{"changed_files", "changed_bytes", "complete"} for data written in
    the snapshot after since_generation; a bound stops it with what it had
    counted (complete false: the figures are a lower bound)."""
    fd = os.open(snapshot_path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        return _search(fd, since_generation, time.monotonic() + max_seconds, max_extents)
    finally:
        os.close(fd)


def _search(fd, since_generation, deadline, max_extents):
    inodes, total, seen = set(), 0, 0
    min_objectid, min_type, min_offset = 0, EXTENT_DATA_KEY, 0
    while True:
        if time.monotonic() > deadline or seen >= max_extents:
            return {"changed_files": len(inodes), "changed_bytes": total, "complete": False}
        buffer = bytearray(SEARCH_ARGS_SIZE)
        # tree_id 0: the subvolume fd is in. min_transid skips tree blocks
        # not written since, so an unchanged volume costs almost nothing.
        KEY.pack_into(
            buffer, 0,
            0, min_objectid, U64_MAX, min_offset, U64_MAX, since_generation + 1, U64_MAX,
            min_type, EXTENT_DATA_KEY, BATCH, 0, 0, 0, 0, 0,
        )  # fmt: skip
        fcntl.ioctl(fd, BTRFS_IOC_TREE_SEARCH, buffer, True)
        count = KEY.unpack_from(buffer, 0)[9]
        if count == 0:
            return {"changed_files": len(inodes), "changed_bytes": total, "complete": True}
        position = KEY.size
        for _ in range(count):
            _, objectid, offset, kind, length = HEADER.unpack_from(buffer, position)
            position += HEADER.size
            if kind == EXTENT_DATA_KEY:
                item = bytes(buffer[position : position + length])
                if struct.unpack_from("=Q", item.ljust(8, b"\0"))[0] > since_generation:
                    inodes.add(objectid)
                    total += _extent_length(item)
                seen += 1
            position += length
            min_objectid, min_type, min_offset = objectid, kind, offset
        # The next key after the last one returned.
        if min_offset < U64_MAX:
            min_offset += 1
        elif min_objectid < U64_MAX:
            min_objectid, min_type, min_offset = min_objectid + 1, 0, 0
        else:
            return {"changed_files": len(inodes), "changed_bytes": total, "complete": True}
