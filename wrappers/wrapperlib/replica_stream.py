"""Checking a btrfs send stream from the primary before btrfs receive sees it.

``btrfs receive`` creates the subvolume the stream names, where the stream
names it, and then carries out whatever the stream says. The primary is
not trusted (its root may be an attacker's), so every command is read and
checked here, on its way from ssh to btrfs receive, before a byte of it is
passed on: the stream must be protocol version 1, open with exactly one
subvolume (SUBVOL for a full stream, SNAPSHOT of the expected parent for an
incremental one) named as the snapshot we asked for and carrying the UUID
the primary listed for it, name only relative paths without ``..`` in every
later command, clone only from that subvolume or its parent, and end with
one END and nothing after it. Anything else stops the transfer; receive
gets no more and the partial subvolume is deleted by the caller.

Receive also runs with ``--chroot`` in a fresh private directory (so even a
path this check missed can't leave it), ``-e`` (stop at the first END) and
``-E 1`` (stop at the first error); the command checksums are receive's.
"""

import struct
import uuid

from .errors import Refusal

MAGIC = b"btrfs-stream\x00"
VERSION = 1
_STREAM_HEADER = struct.Struct("<13sI")
_COMMAND_HEADER = struct.Struct("<IHI")
_ATTRIBUTE_HEADER = struct.Struct("<HH")
# A version 1 command, header included, fits the sender's 64 KiB buffer.
MAX_COMMAND_BYTES = 64 * 1024

SUBVOL, SNAPSHOT, LINK, CLONE, END = 1, 2, 10, 16, 21
LAST_V1_COMMAND = 22
A_UUID, A_PATH, A_PATH_TO, A_PATH_LINK = 1, 15, 16, 17
A_CLONE_UUID, A_CLONE_PATH = 20, 22


class StreamRefused(Refusal):
    """The primary sent something that is not the snapshot we asked for."""


def _attributes(payload: bytes) -> dict[int, bytes]:
    found, offset = {}, 0
    while offset < len(payload):
        if offset + _ATTRIBUTE_HEADER.size > len(payload):
            raise StreamRefused("a command's attributes are cut short")
        kind, length = _ATTRIBUTE_HEADER.unpack_from(payload, offset)
        offset += _ATTRIBUTE_HEADER.size
        if offset + length > len(payload):
            raise StreamRefused("a command's attribute runs past its end")
        if kind in found:
            raise StreamRefused(f"attribute {kind} given twice in one command")
        found[kind] = payload[offset : offset + length]
        offset += length
    return found


def _uuid(value: bytes | None) -> str | None:
    return str(uuid.UUID(bytes=value)) if value is not None and len(value) == 16 else None


def _relative_path(value: bytes) -> None:
    if value == b"":
        return  # the subvolume's own root directory
    if value.startswith(b"/") or b"\x00" in value:
        raise StreamRefused("the stream names a path that is absolute or holds NUL")
    if any(part in (b"..", b"") for part in value.split(b"/")):
        raise StreamRefused("the stream names a path with '..' or an empty component")


class Checker:
    """Fed the stream piece by piece (``header``, then each ``command``);
    raises StreamRefused at the first piece that must not reach receive."""

    def __init__(self, name: str, expected_uuid: str, parent_uuid: str | None):
        self.name = name.encode()
        self.expected_uuid = expected_uuid
        self.parent_uuid = parent_uuid
        self.commands = 0
        self.ended = False

    def header(self, data: bytes) -> None:
        magic, version = _STREAM_HEADER.unpack(data)
        if magic != MAGIC:
            raise StreamRefused("not a btrfs send stream")
        if version != VERSION:
            raise StreamRefused(f"send stream version {version}; only {VERSION} is accepted")

    def command(self, kind: int, payload: bytes) -> None:
        if self.ended:
            raise StreamRefused("the stream goes on after its END")
        if not 1 <= kind <= LAST_V1_COMMAND:
            raise StreamRefused(f"unknown send command {kind}")
        attributes = _attributes(payload)
        first = self.commands == 0
        self.commands += 1
        if first:
            self._first(kind, attributes)
            return
        if kind in (SUBVOL, SNAPSHOT):
            raise StreamRefused("the stream holds a second subvolume")
        for attribute in (A_PATH, A_PATH_TO, A_CLONE_PATH):
            if attribute in attributes:
                _relative_path(attributes[attribute])
        if kind == LINK and A_PATH_LINK in attributes:
            _relative_path(attributes[A_PATH_LINK])
        if kind == CLONE:
            source = _uuid(attributes.get(A_CLONE_UUID))
            if source not in (self.expected_uuid, self.parent_uuid):
                raise StreamRefused("the stream clones from a subvolume other than its parent")
        if kind == END:
            self.ended = True

    def _first(self, kind, attributes):
        wanted = SNAPSHOT if self.parent_uuid is not None else SUBVOL
        if kind != wanted:
            what = "an incremental" if wanted == SNAPSHOT else "a full"
            raise StreamRefused(f"the stream does not start as {what} snapshot")
        if attributes.get(A_PATH) != self.name:
            shown = attributes.get(A_PATH, b"")[:80].decode("utf-8", "backslashreplace")
            raise StreamRefused(
                f"the stream names its subvolume {shown!r}, not {self.name.decode()}"
            )
        if _uuid(attributes.get(A_UUID)) != self.expected_uuid:
            raise StreamRefused("the stream's subvolume UUID is not the one the primary listed")
        if kind == SNAPSHOT and _uuid(attributes.get(A_CLONE_UUID)) != self.parent_uuid:
            raise StreamRefused("the stream's parent is not the snapshot we asked for")


def _read_exactly(source, count: int) -> bytes:
    data = source.read(count)
    if len(data) != count:
        raise StreamRefused("the stream ended in the middle of a command")
    return data


def relay(source, sink, checker: Checker, limit: int | None = None) -> int:
    """Copy the stream from source to sink (binary files), each piece only
    after checker accepted it and while the total stays within limit bytes.
    Returns the bytes relayed."""
    header = _read_exactly(source, _STREAM_HEADER.size)
    checker.header(header)
    sink.write(header)
    total = len(header)
    while True:
        head = source.read(_COMMAND_HEADER.size)
        if not head:
            break
        if len(head) != _COMMAND_HEADER.size:
            raise StreamRefused("the stream ended in the middle of a command")
        length, kind, _ = _COMMAND_HEADER.unpack(head)
        if length + _COMMAND_HEADER.size > MAX_COMMAND_BYTES:
            raise StreamRefused("a command in the stream is larger than btrfs send makes")
        if limit is not None and total + len(head) + length > limit:
            raise StreamRefused(f"the stream is larger than this transfer's cap of {limit} bytes")
        payload = _read_exactly(source, length)
        checker.command(kind, payload)
        sink.write(head)
        sink.write(payload)
        total += len(head) + length
    if not checker.ended:
        raise StreamRefused("the stream ended before its END")
    return total
