"""What the kernel says about one btrfs subvolume, and its read-only flag.

Both sides of the replica ask the same questions (is it a subvolume, is it
read-only, what are its UUID and received UUID), without forking
``btrfs subvolume show`` and parsing text: BTRFS_IOC_GET_SUBVOL_INFO and
BTRFS_IOC_SUBVOL_GETFLAGS/SETFLAGS on a descriptor opened without
following links.
"""

import fcntl
import os
import stat
import struct
import uuid
from dataclasses import dataclass

from .errors import Refusal

# The inode number of every btrfs subvolume's root directory.
SUBVOLUME_ROOT_INO = 256
# struct btrfs_ioctl_get_subvol_info_args (linux/btrfs.h): 504 bytes.
_INFO_SIZE = 504
_IOC_GET_SUBVOL_INFO = (2 << 30) | (_INFO_SIZE << 16) | (0x94 << 8) | 60
_IOC_SUBVOL_GETFLAGS = (2 << 30) | (8 << 16) | (0x94 << 8) | 25
_IOC_SUBVOL_SETFLAGS = (1 << 30) | (8 << 16) | (0x94 << 8) | 26
# The root item's flag (get_subvol_info) and the ioctl flag (setflags).
_ROOT_ITEM_RDONLY = 1 << 0
_SUBVOL_RDONLY = 1 << 1
NO_UUID = str(uuid.UUID(int=0))


@dataclass(frozen=True)
class Subvolume:
    uuid: str
    parent_uuid: str
    received_uuid: str  # NO_UUID unless made by btrfs receive
    generation: int
    read_only: bool


def open_directory(path: str, dir_fd: int | None = None) -> int:
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)


def is_subvolume(path: str) -> bool:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_ino == SUBVOLUME_ROOT_INO


def info(path: str) -> Subvolume:
    """The subvolume at path (a real directory, never a link); refused when
    path is not a subvolume."""
    if not is_subvolume(path):
        raise Refusal(f"{os.path.basename(path)} is not a btrfs subvolume")
    fd = open_directory(path)
    try:
        buffer = bytearray(_INFO_SIZE)
        fcntl.ioctl(fd, _IOC_GET_SUBVOL_INFO, buffer)
    finally:
        os.close(fd)
    generation, flags = struct.unpack_from("<2Q", buffer, 280)

    def uuid_at(offset):
        return str(uuid.UUID(bytes=bytes(buffer[offset : offset + 16])))

    return Subvolume(
        uuid=uuid_at(296),
        parent_uuid=uuid_at(312),
        received_uuid=uuid_at(328),
        generation=generation,
        read_only=bool(flags & _ROOT_ITEM_RDONLY),
    )


def set_read_only(path: str, read_only: bool) -> None:
    """Flip the read-only flag straight through the ioctl: ``btrfs property
    set ro false`` clears a received subvolume's received UUID (what the
    next incremental receive finds its parent by); the kernel keeps it."""
    fd = open_directory(path)
    try:
        buffer = bytearray(8)
        fcntl.ioctl(fd, _IOC_SUBVOL_GETFLAGS, buffer)
        (flags,) = struct.unpack("<Q", buffer)
        flags = flags | _SUBVOL_RDONLY if read_only else flags & ~_SUBVOL_RDONLY
        fcntl.ioctl(fd, _IOC_SUBVOL_SETFLAGS, struct.pack("<Q", flags))
    finally:
        os.close(fd)
