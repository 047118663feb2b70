"""Reading a btrfs send stream (format versions 1 and 2) as typed commands.

Why the binary stream and not ``btrfs receive --dump``: the dump prints
each path as text, one command per line, so a file name holding a newline
(legal on the volume, and every name there is the user's) could forge a
whole command, an unlink or a rename that never happened. In the binary
stream every path is a length-prefixed attribute inside a length-prefixed
command: a name is only ever bytes, whatever it holds. The format is
btrfs-progs' ``send.h`` and ``Documentation/dev/dev-send-stream.rst``:

    header:  "btrfs-stream\\0", u32 version
    command: u32 length (of the attributes), u16 command, u32 crc32c,
             then attributes: u16 type, u16 length, value
    v2+: the DATA attribute of WRITE and ENCODED_WRITE has no length and
         runs to the end of its command.

The checksum is not verified: the stream comes straight from the kernel
through a pipe this process made (nothing can alter it in between), and
the standard library has no crc32c. Each command is bounded by its own
length field (at most ``MAX_COMMAND_BYTES``), so a stream can't make this
reader hold more than one command at a time.
"""

import struct
from collections.abc import Iterator
from dataclasses import dataclass

MAGIC = b"btrfs-stream\0"
HEADER = struct.Struct("<I")
COMMAND = struct.Struct("<IHI")
ATTRIBUTE = struct.Struct("<HH")
U64 = struct.Struct("<Q")

# Commands (send.h, enum btrfs_send_cmd).
SNAPSHOT, SUBVOL = 2, 1
MKFILE, MKDIR, MKNOD, MKFIFO, MKSOCK, SYMLINK = 3, 4, 5, 6, 7, 8
RENAME, LINK, UNLINK, RMDIR = 9, 10, 11, 12
WRITE, CLONE, TRUNCATE = 15, 16, 17
END, UPDATE_EXTENT = 21, 22
FALLOCATE, ENCODED_WRITE = 23, 25
CREATES = {MKFILE, MKDIR, MKNOD, MKFIFO, MKSOCK, SYMLINK}

# Attributes (enum btrfs_send_attr).
A_SIZE, A_PATH, A_PATH_TO, A_PATH_LINK = 4, 15, 16, 17
A_FILE_OFFSET, A_DATA, A_CLONE_LEN = 18, 19, 24
# v2: ENCODED_WRITE's length of the data it stands for once decoded.
A_UNENCODED_FILE_LEN = 27
# Only these are kept; the rest (times, modes, xattrs, uuids) are skipped
# without being copied.
KEPT = {A_SIZE, A_PATH, A_PATH_TO, A_PATH_LINK, A_FILE_OFFSET, A_CLONE_LEN, A_UNENCODED_FILE_LEN}
NUMBERS = {A_SIZE, A_FILE_OFFSET, A_CLONE_LEN, A_UNENCODED_FILE_LEN}

# The kernel sends at most 64 KiB of attributes per command (v1) and a few
# hundred KiB with v2's larger writes; a longer one is a broken stream.
MAX_COMMAND_BYTES = 1 << 21
# A path in a stream is at most PATH_MAX.
MAX_PATH_BYTES = 4096


class StreamError(Exception):
    """The stream is not a btrfs send stream this reader understands."""


@dataclass(frozen=True)
class Command:
    kind: int
    path: bytes = b""
    # RENAME's destination, LINK's existing path.
    other: bytes = b""
    offset: int = 0
    size: int = 0


def _read_exactly(stream, count: int) -> bytes:
    data = stream.read(count)
    if data is None or len(data) != count:
        raise StreamError("the send stream ended in the middle of a command")
    return data


def _attributes(body: bytes, version: int) -> dict[int, bytes | int]:
    found, position = {}, 0
    while position < len(body):
        if len(body) - position < 2:
            raise StreamError("an attribute is cut short")
        (kind,) = struct.unpack_from("<H", body, position)
        if kind == A_DATA and version >= 2:
            # Unlengthed: the rest of the command.
            found[kind] = len(body) - position - 2
            break
        if len(body) - position < ATTRIBUTE.size:
            raise StreamError("an attribute is cut short")
        kind, length = ATTRIBUTE.unpack_from(body, position)
        position += ATTRIBUTE.size
        if position + length > len(body):
            raise StreamError("an attribute runs past its command")
        if kind == A_DATA:
            found[kind] = length
        elif kind in NUMBERS:
            if length != 8:
                raise StreamError("a number attribute is not 8 bytes")
            found[kind] = U64.unpack_from(body, position)[0]
        elif kind in KEPT:
            if length > MAX_PATH_BYTES:
                raise StreamError("a path is longer than PATH_MAX")
            found[kind] = body[position : position + length]
        position += length
    return found


def commands(stream) -> Iterator[Command]:
    """The stream's commands up to END, as ``Command``; raises StreamError
    on anything malformed (the caller counts what it read as partial)."""
    if _read_exactly(stream, len(MAGIC)) != MAGIC:
        raise StreamError("not a btrfs send stream")
    (version,) = HEADER.unpack(_read_exactly(stream, HEADER.size))
    if version not in (1, 2, 3):
        raise StreamError(f"send stream version {version} is not supported")
    while True:
        header = stream.read(COMMAND.size)
        if not header:
            # A stream without END: the sender stopped (killed by a bound).
            raise StreamError("the send stream ended without END")
        if len(header) != COMMAND.size:
            raise StreamError("the send stream ended in a command header")
        length, kind, _crc = COMMAND.unpack(header)
        if length > MAX_COMMAND_BYTES:
            raise StreamError("a command is longer than any the kernel sends")
        body = _read_exactly(stream, length)
        if kind == END:
            return
        values = _attributes(body, version)
        yield _typed(kind, values)


def _path(values, key) -> bytes:
    value = values.get(key, b"")
    return value if isinstance(value, bytes) else b""


def _number(values, key) -> int:
    value = values.get(key, 0)
    return value if isinstance(value, int) else 0


# For each command that changes a file's data: the attribute holding the
# length of the range it changes.
LENGTHS = {
    UPDATE_EXTENT: A_SIZE,
    TRUNCATE: A_SIZE,
    FALLOCATE: A_SIZE,
    WRITE: A_DATA,
    ENCODED_WRITE: A_UNENCODED_FILE_LEN,
    CLONE: A_CLONE_LEN,
}


def _typed(kind: int, values: dict) -> Command:
    path = _path(values, A_PATH)
    if kind == RENAME:
        return Command(kind, path, _path(values, A_PATH_TO))
    if kind == LINK:
        return Command(kind, path, _path(values, A_PATH_LINK))
    if kind in LENGTHS:
        offset = _number(values, A_FILE_OFFSET)
        return Command(kind, path, offset=offset, size=_number(values, LENGTHS[kind]))
    return Command(kind, path)
