"""What changed between two snapshots of a volume: among what existed
before, how much was overwritten, truncated, deleted and renamed, apart from
the new data written; read from a metadata-only send stream, no file name
ever leaving this module.

``btrfs send --no-data -p BASE NEW`` makes the kernel compare the two
snapshots' trees and describe, exactly and at a cost proportional to what
changed, how to turn BASE into NEW: unlink, rename, link, truncate, and
for every changed data range an UPDATE_EXTENT (offset, length) instead of
the data. ``send_stream`` parses the binary stream (why not the text of
``receive --dump``: there). The stream names files as they are during its
replay (with temporary "orphan" names for things moved around), so this
module keeps an overlay of the renames it has seen to map each path back to
the BASE path it started from, and reads the old size of what was
destroyed from BASE itself (opened one component at a time, never following
a link). Bounded in time (the sender is killed at the deadline), in
commands read and so in memory (the overlay holds only paths the stream
named); a stopped measure says ``complete: false`` and its figures are a
lower bound.

The output is only counts, byte sizes and, for the rename rule, how many
files were renamed to the one most common new extension (not which one).
"""

import fcntl
import os
import stat
import struct
import time
from collections import Counter
from datetime import timedelta

from . import commands, send_stream
from .errors import Failure

# A ransom note is a small file: what the rule counts are folders that
# gained a new file of the same name no larger than this...
NOTE_MAX_BYTES = 64 * 1024
# ...other than the ones Windows and macOS leave in every folder they show
# (a first backup copies them everywhere).
NOT_NOTES = frozenset({b"desktop.ini", b"thumbs.db", b".ds_store", b"icon\r", b".localized"})
# The rolling window over which slow destruction adds up (the portal's
# rule reads it as one more interval). Retention keeps hourly snapshots for
# a day, so one taken a day before is there.
WINDOW = timedelta(hours=24)
# An extension longer than this is no extension (a name with a dot).
MAX_EXTENSION_BYTES = 16
# The most paths the replay keeps (overlay nodes, files of BASE looked at):
# a few hundred bytes each, so a wrapper stays within about 200 MiB however
# large the change; past it the measure stops (complete: false).
MAX_ENTRIES = 500_000

# _IOWR(0x94, 18, struct btrfs_ioctl_ino_lookup_args): 4096 bytes.
BTRFS_IOC_INO_LOOKUP = 0xD0009412
# _IOWR(0x94, 17, struct btrfs_ioctl_search_args): 4096 bytes.
BTRFS_IOC_TREE_SEARCH = 0xD0009411
# _IOR(0x94, 60, struct btrfs_ioctl_get_subvol_info_args): 504 bytes.
BTRFS_IOC_GET_SUBVOL_INFO = 0x81F8943C
SUBVOL_INFO_SIZE = 504
FIRST_FREE_OBJECTID = 256
QUOTA_TREE_OBJECTID = 8
QGROUP_INFO_KEY = 242
SEARCH_KEY = struct.Struct("=7Q4I4Q")
SEARCH_HEADER = struct.Struct("=3Q2I")
U64_MAX = (1 << 64) - 1

FIGURES = (
    "new_files",
    "new_bytes",
    "overwritten_files",
    "overwritten_bytes",
    "truncated_files",
    "truncated_bytes",
    "deleted_files",
    "deleted_bytes",
    "renamed_files",
    "renamed_to_one_extension",
    "note_folders",
)

# What a node of the overlay is: still at the path it had in BASE (PASS,
# its origin follows its parent's), made since (NEW), or moved (its origin
# given explicitly).
PASS, NEW = object(), None


class _Node:
    __slots__ = ("children", "kind", "origin", "written")

    def __init__(self, origin, kind=None):
        self.children = {}
        self.origin = origin  # PASS, NEW (None) or the BASE path (bytes)
        self.kind = kind  # for NEW nodes: the send command that made it
        self.written = 0


class _Old:
    """What one file of BASE went through."""

    __slots__ = ("overwritten", "size", "truncated_to", "unlinked")

    def __init__(self, size):
        self.size = size
        self.overwritten = 0
        self.truncated_to = None
        self.unlinked = False


def _join(folder: bytes, name: bytes) -> bytes:
    return folder + b"/" + name if folder else name


def _components(path: bytes) -> list[bytes]:
    return [part for part in path.split(b"/") if part and part != b"."]


class _BaseTree:
    """Regular files of BASE looked up by path, as root but never following a
    link: each folder is opened relative to the one before, O_NOFOLLOW. The
    snapshot is read-only, so nothing changes while it is read."""

    def __init__(self, root: str):
        self.root = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        self.sizes: dict[bytes, tuple[int, int] | None] = {}

    def close(self):
        os.close(self.root)

    def regular(self, path: bytes) -> tuple[int, int] | None:
        """(size, link count) of a regular file of BASE, None for anything else."""
        if path in self.sizes:
            return self.sizes[path]
        parts = _components(path)
        found = None
        # No name in a stream is "..", but nothing here relies on it.
        if parts and b".." not in parts:
            fd = self.root
            try:
                for part in parts[:-1]:
                    opened = os.open(
                        part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd
                    )
                    if fd != self.root:
                        os.close(fd)
                    fd = opened
                info = os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
                if stat.S_ISREG(info.st_mode):
                    found = (info.st_size, info.st_nlink)
            except OSError:
                found = None
            finally:
                if fd != self.root:
                    os.close(fd)
        self.sizes[path] = found
        return found


class _Replay:
    """Replays a stream's namespace changes over BASE, keeping only what it
    needs to answer: which BASE path is this stream path now?"""

    def __init__(self, base: _BaseTree):
        self.base = base
        self.top = _Node(b"")
        self.old: dict[bytes, _Old] = {}
        # Data written beyond the old end of files that existed.
        self.appended = 0
        # Paths held (nodes attached, files of BASE looked up), for the bound.
        self.entries = 0

    def _walk(self, parts, create):
        """(node or None, origin of the path) for a stream path."""
        node, origin = self.top, b""
        for part in parts:
            child = node.children.get(part) if node is not None else None
            if child is None and create and node is not None:
                child = node.children[part] = _Node(PASS)
            if child is not None and child.origin is not PASS:
                origin = child.origin
            elif origin is not NEW:
                origin = _join(origin, part)
            node = child
        return node, origin

    def origin(self, path: bytes):
        return self._walk(_components(path), create=False)[1]

    def _detach(self, path: bytes) -> _Node:
        parts = _components(path)
        origin = self.origin(path)
        parent, _ = self._walk(parts[:-1], create=True)
        node = parent.children.pop(parts[-1], None) if parts else None
        if node is None:
            node = _Node(origin)
        elif node.origin is PASS:
            node.origin = origin
        return node

    def _attach(self, path: bytes, node: _Node):
        parts = _components(path)
        self.entries += 1 + len(parts)
        if parts:
            parent, _ = self._walk(parts[:-1], create=True)
            parent.children[parts[-1]] = node

    def old_file(self, origin) -> _Old | None:
        if origin is NEW or origin is PASS:
            return None
        if origin not in self.old:
            self.entries += 1
            found = self.base.regular(origin)
            # A file with another link in BASE loses nothing when one goes.
            self.old[origin] = _Old(found[0]) if found and found[1] == 1 else None
        return self.old[origin]

    def apply(self, command: send_stream.Command):
        kind = command.kind
        if kind in send_stream.CREATES:
            self._attach(command.path, _Node(NEW, kind))
        elif kind == send_stream.RENAME:
            self._attach(command.other, self._detach(command.path))
        elif kind == send_stream.LINK:
            # A new name for an existing file: the kernel renames a file by
            # linking the new name and unlinking the old one.
            origin = self.origin(command.other)
            self._attach(command.path, _Node(origin))
        elif kind in (send_stream.UNLINK, send_stream.RMDIR):
            node = self._detach(command.path)
            old = self.old_file(node.origin) if kind == send_stream.UNLINK else None
            if old is not None:
                old.unlinked = True
        elif kind in (
            send_stream.UPDATE_EXTENT,
            send_stream.WRITE,
            send_stream.ENCODED_WRITE,
            send_stream.CLONE,
            send_stream.FALLOCATE,
        ):
            self._written(command)
        elif kind == send_stream.TRUNCATE:
            old = self.old_file(self.origin(command.path))
            if old is not None and command.size < old.size:
                earlier = old.truncated_to
                old.truncated_to = command.size if earlier is None else min(earlier, command.size)

    def _written(self, command):
        node, origin = self._walk(_components(command.path), create=False)
        old = self.old_file(origin)
        if old is None:
            if origin is NEW and node is not None:
                node.written += command.size
            return
        # Within the old size: data that existed is gone; beyond: appended.
        inside = max(0, min(command.size, old.size - command.offset))
        old.overwritten += inside
        self.appended += command.size - inside

    def figures(self) -> dict:
        counts = dict.fromkeys(FIGURES, 0)
        counts["new_bytes"] = self.appended
        live, extensions, notes, copies = set(), Counter(), {}, []
        stack = [(self.top, b"", b"")]
        while stack:
            node, path, origin = stack.pop()
            for name, child in node.children.items():
                child_path = path + b"/" + name
                if child.origin is PASS:
                    child_origin = NEW if origin is NEW else _join(origin, name)
                else:
                    child_origin = child.origin
                if child.origin is NEW and child.kind == send_stream.MKFILE:
                    counts["new_files"] += 1
                    counts["new_bytes"] += child.written
                    if origin is not NEW:
                        copies.append(_join(origin, name))
                    if child.written <= NOTE_MAX_BYTES and not _system_file(name):
                        notes.setdefault(name, set()).add(id(node))
                elif child.origin not in (PASS, NEW):
                    live.add(child.origin)
                    if child.origin.lstrip(b"/") != child_path.lstrip(b"/"):
                        old = self.old_file(child.origin)
                        counts["renamed_files"] += 1
                        new_extension = _extension(name)
                        if old is not None and new_extension != _extension(child.origin):
                            extensions[new_extension] += 1
                stack.append((child, child_path, child_origin))
        deleted = set()
        for origin, old in self.old.items():
            if old is None:
                continue
            if old.unlinked and origin not in live:
                counts["deleted_files"] += 1
                counts["deleted_bytes"] += old.size
                deleted.add(origin)
                continue
            kept = old.size if old.truncated_to is None else old.truncated_to
            if old.truncated_to is not None:
                counts["truncated_files"] += 1
                counts["truncated_bytes"] += old.size - old.truncated_to
            overwritten = min(old.overwritten, kept)
            if overwritten:
                counts["overwritten_files"] += 1
                counts["overwritten_bytes"] += overwritten
        # A new file named as a deleted one plus an extension ("x.docx" gone,
        # "x.docx.WNCRY" new beside it): renamed by copying, as ransomware
        # that writes its output to a new file does.
        for path in copies:
            stem, dot, extension = path.rpartition(b".")
            if dot and stem in deleted and len(extension) <= MAX_EXTENSION_BYTES:
                extensions[extension.lower()] += 1
        extensions.pop(b"", None)
        counts["renamed_to_one_extension"] = max(extensions.values(), default=0)
        counts["note_folders"] = max(map(len, notes.values()), default=0)
        return counts


def _system_file(name: bytes) -> bool:
    # AppleDouble files ("._name") carry a Mac's metadata beside each file.
    return name.lower() in NOT_NOTES or name.startswith(b"._")


def _extension(path: bytes) -> bytes:
    name = path.rsplit(b"/", 1)[-1]
    stem, dot, extension = name.rpartition(b".")
    if not dot or not stem or len(extension) > MAX_EXTENSION_BYTES:
        return b""
    return extension.lower()


def measure(base_path: str, new_path: str, deadline: float, max_commands: int) -> dict:
    """The change from snapshot base_path to snapshot new_path (both
    read-only): FIGURES plus "complete" (false: a bound stopped it, the
    figures are a lower bound) and "changed_bytes"/"changed_files" (data
    written, new or over old: what the measure counted before)."""
    import subprocess
    import threading

    base = _BaseTree(base_path)
    replay = _Replay(base)
    if time.monotonic() >= deadline:
        # Past its time before it began: nothing is measured (a lower bound).
        # Started anyway, a stream short enough to be read before the
        # watchdog's kill came back "complete" or not, by chance.
        base.close()
        return _result(replay, False)
    process = subprocess.Popen(
        [commands.executable("btrfs"), "send", "--no-data", "-q", "-p", base_path, new_path],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=commands.CLEAN_ENV,
        close_fds=True,
    )
    killed_by_bound = threading.Event()

    def stop_at_deadline() -> None:
        killed_by_bound.set()
        process.kill()

    watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), stop_at_deadline)
    watchdog.start()
    complete, read = True, 0
    try:
        for command in send_stream.commands(process.stdout):
            read += 1
            if read > max_commands or replay.entries > MAX_ENTRIES:
                complete = False
                break
            replay.apply(command)
    except send_stream.StreamError:
        complete = False
    finally:
        if complete:
            # Whatever follows END (nothing, normally) is read, not cut off:
            # a sender writing into a closed pipe dies of SIGPIPE.
            while process.stdout.read(65536):
                pass
        else:
            process.kill()
        process.stdout.close()
        # After END the sender only exits; the watchdog still bounds it.
        returncode = process.wait()
        watchdog.cancel()
        base.close()
    # A sender killed by the deadline after its END had already been read
    # (it was only exiting) sent a whole stream: the figures are complete.
    # Any other non-zero exit after END is a sender that failed.
    if complete and returncode != 0 and not killed_by_bound.is_set():
        raise Failure("btrfs send could not compare the snapshots")
    return _result(replay, complete)


def _result(replay, complete: bool) -> dict:
    figures = replay.figures()
    return {
        **figures,
        "complete": complete,
        "changed_bytes": figures["new_bytes"] + figures["overwritten_bytes"],
        "changed_files": figures["new_files"] + figures["overwritten_files"],
    }


def _subvolume_info(path: str) -> tuple[bytes, bytes]:
    """(uuid, parent_uuid) of a subvolume (parent: what it is a snapshot of)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        buffer = bytearray(SUBVOL_INFO_SIZE)
        fcntl.ioctl(fd, BTRFS_IOC_GET_SUBVOL_INFO, buffer, True)
    finally:
        os.close(fd)
    # treeid (u64), name[256], parent_id, dirid, generation, flags (u64),
    # then uuid, parent_uuid.
    return bytes(buffer[296:312]), bytes(buffer[312:328])


def choose_bases(folder: str, earlier: list[str], new: str, data: str) -> tuple[str, str | None]:
    """(base, window_base) to measure snapshot ``new`` against, among the
    ``earlier`` snapshots in ``folder`` (oldest first, not empty).

    The base is the previous snapshot, unless the volume was rolled back
    since: then the previous one is the state the rollback kept (what was
    undone), and the state the volume really continued from is the snapshot
    the rollback copied, which its data subvolume names as its parent. The
    window base is the newest snapshot taken at least WINDOW before, or the
    oldest there is, never newer than the base (so never an undone state);
    None when it is the base itself."""
    from . import snapshots

    base = earlier[-1]
    try:
        new_parent = _subvolume_info(os.path.join(folder, new))[1]
        if _subvolume_info(os.path.join(folder, base))[1] != new_parent:
            source = _subvolume_info(data)[1]
            for name in reversed(earlier):
                if _subvolume_info(os.path.join(folder, name))[0] == source:
                    base = name
                    break
    except OSError:
        # A kernel without GET_SUBVOL_INFO (before 4.18): the previous one.
        base = earlier[-1]
    candidates = earlier[: earlier.index(base) + 1]
    cutoff = snapshots.taken_at(new) - WINDOW
    older = [name for name in candidates if snapshots.taken_at(name) <= cutoff]
    window_base = older[-1] if older else candidates[0]
    return base, (None if window_base == base else window_base)


def referenced_bytes(path: str) -> int | None:
    """What a snapshot holds (its quota group's referenced bytes: data and
    its metadata), None on a volume without quota groups."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        lookup = bytearray(4096)
        struct.pack_into("=2Q", lookup, 0, 0, FIRST_FREE_OBJECTID)
        fcntl.ioctl(fd, BTRFS_IOC_INO_LOOKUP, lookup, True)
        (tree_id,) = struct.unpack_from("=Q", lookup, 0)
        search = bytearray(4096)
        SEARCH_KEY.pack_into(
            search, 0,
            QUOTA_TREE_OBJECTID, 0, 0, tree_id, tree_id, 0, U64_MAX,
            QGROUP_INFO_KEY, QGROUP_INFO_KEY, 1, 0, 0, 0, 0, 0,
        )  # fmt: skip
        fcntl.ioctl(fd, BTRFS_IOC_TREE_SEARCH, search, True)
    except OSError:
        return None
    finally:
        os.close(fd)
    if SEARCH_KEY.unpack_from(search, 0)[9] == 0:
        return None
    _, _, offset, kind, length = SEARCH_HEADER.unpack_from(search, SEARCH_KEY.size)
    if kind != QGROUP_INFO_KEY or offset != tree_id or length < 16:
        return None
    # struct btrfs_qgroup_info_item: generation, rfer, ...
    return struct.unpack_from("=2Q", search, SEARCH_KEY.size + SEARCH_HEADER.size)[1]


def _destroyed(change: dict) -> int:
    return change["overwritten_files"] + change["truncated_files"] + change["deleted_files"]


def report(
    folder: str, data: str, name: str, earlier: list[str], deadline: float, max_commands: int
) -> dict:
    """volresult's change figures for the new snapshot ``name`` in
    ``folder``: "changed_bytes", "changed_files" (data written, as before),
    "change" (since the snapshot the volume continued from) and
    "window_change" (over WINDOW), each None where there is nothing to
    compare with (a volume's first snapshot; the window also when this
    interval destroyed nothing); and "holds_bytes", what the new snapshot
    holds. ``earlier``: the snapshots before it, oldest first."""
    holds = referenced_bytes(os.path.join(folder, name))
    if not earlier:
        return {
            "changed_bytes": None,
            "changed_files": None,
            "change": None,
            "window_change": None,
            "holds_bytes": holds,
        }
    base, window_base = choose_bases(folder, earlier, name, data)
    figures = {}
    for key, since in (("change", base), ("window_change", window_base)):
        # The window can only show new destruction when this interval
        # destroyed something: most runs of most volumes measure once.
        if since is None or (key == "window_change" and not _destroyed(figures["change"])):
            figures[key] = None
            continue
        measured = measure(
            os.path.join(folder, since), os.path.join(folder, name), deadline, max_commands
        )
        held = referenced_bytes(os.path.join(folder, since))
        figures[key] = {"base": since, "held_bytes": held, **measured}
    return {
        "changed_bytes": figures["change"].pop("changed_bytes"),
        "changed_files": figures["change"].pop("changed_files"),
        **figures,
        "holds_bytes": holds,
    }
