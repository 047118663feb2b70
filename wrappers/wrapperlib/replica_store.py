"""The replica's own tree: where received snapshots live, which count,
what is left of an interrupted transfer, retention and protection.

    <REPLICA_ROOT>/                 root's, 0700, on the replica's btrfs pool
        .incoming/<user>-XXXX/      one fresh private directory per transfer
        .status.json                the last run's status (replica_pull)
        <user>/snapshots/<name>     the received snapshots that count
        <user>/data                 made only by promote

A snapshot counts only when it sits in ``<user>/snapshots/`` under a
snapshot name as a read-only subvolume with a received UUID: btrfs receive
sets both last, and the pull checked the UUID against the primary's before
moving it there. Anything else in ``.incoming`` is what a stopped transfer
left, deleted at the start of the next run, never counted.

Deletion of a counted snapshot goes through ``delete``, which asks the
wrappers' own gate (``snapshots.require_unprotected``) with the replica's
settings: the replica's SNAPSHOT_PROTECTION_DAYS and SNAPSHOT_RETENTION are
its own, whatever the primary does or says.
"""

import contextlib
import ctypes
import os
import stat
import tempfile
from datetime import datetime

from . import commands, snapshots, validate
from .config import settings
from .errors import Failure, Refusal
from .replica_subvolumes import NO_UUID, info, is_subvolume, set_read_only

INCOMING = ".incoming"
SNAPSHOTS = "snapshots"
DATA = "data"
RENAME_NOREPLACE = 1
AT_FDCWD = -100


def root() -> str:
    """REPLICA_ROOT, resolved: a directory on btrfs, root's alone."""
    configured = settings().REPLICA_ROOT
    if not isinstance(configured, str) or not os.path.isabs(configured):
        raise Refusal("the wrapper setting REPLICA_ROOT must be an absolute path")
    resolved = os.path.realpath(configured)
    try:
        found = os.lstat(resolved)
    except FileNotFoundError:
        raise Refusal(f"the replica's pool {configured} does not exist") from None
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != 0 or found.st_mode & 0o022:
        raise Refusal(f"the replica's pool {configured} must be a directory only root can write")
    return resolved


def _directory(path: str) -> str:
    """path as a root-only directory, made when missing, never a link."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    found = os.lstat(path)
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != 0:
        raise Refusal(f"{path} is not root's directory")
    return path


def volume_dir(user: str) -> str:
    return os.path.join(root(), validate.username(user))


def snapshot_dir(user: str, create: bool = False) -> str:
    path = os.path.join(volume_dir(user), SNAPSHOTS)
    if create:
        _directory(volume_dir(user))
        _directory(path)
    return path


def volumes() -> list[str]:
    """The volumes the replica holds copies of."""
    found = []
    with os.scandir(root()) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
                continue
            with contextlib.suppress(Refusal):
                found.append(validate.username(entry.name))
    return sorted(found)


def counted(user: str) -> dict[str, str]:
    """{name: the primary's UUID of it} of the snapshots that count, oldest
    first."""
    folder = snapshot_dir(user)
    found = {}
    if not os.path.isdir(folder):
        return found
    with os.scandir(folder) as entries:
        for entry in entries:
            path = os.path.join(folder, entry.name)
            if snapshots.taken_at(entry.name) is None or not is_subvolume(path):
                continue
            subvolume = info(path)
            if subvolume.read_only and subvolume.received_uuid != NO_UUID:
                found[entry.name] = subvolume.received_uuid
    return dict(sorted(found.items(), key=lambda item: snapshots.taken_at(item[0])))


def _delete_subvolume(path: str) -> None:
    commands.run(["btrfs", "subvolume", "delete", path])


def clear_leftovers() -> list[str]:
    """Delete what stopped transfers left: every subvolume in .incoming, and
    in a volume's snapshots folder any snapshot-named subvolume that is not
    read-only (a move into place stopped half-way). Returns what went."""
    removed = []
    incoming = _directory(os.path.join(root(), INCOMING))
    with os.scandir(incoming) as transfers:
        for transfer in transfers:
            path = os.path.join(incoming, transfer.name)
            removed += [f"{transfer.name}/{entry}" for entry in remove_transfer(path)]
    for name in volumes():
        folder = snapshot_dir(name)
        if not os.path.isdir(folder):
            continue
        with os.scandir(folder) as entries:
            for entry in entries:
                path = os.path.join(folder, entry.name)
                stale = snapshots.taken_at(entry.name) and is_subvolume(path)
                if stale and not info(path).read_only:
                    _delete_subvolume(path)
                    removed.append(f"{name}/{entry.name}")
    return removed


def remove_transfer(path: str) -> list[str]:
    """Delete one transfer's directory and every subvolume in it (what
    receive made, finished or not); the names deleted."""
    removed = []
    with os.scandir(path) as entries:
        for entry in entries:
            inner = os.path.join(path, entry.name)
            if is_subvolume(inner):
                _delete_subvolume(inner)
                removed.append(entry.name)
    os.rmdir(path)
    return removed


def new_incoming(user: str) -> str:
    """A fresh directory only root can enter, on the pool, for one transfer."""
    incoming = _directory(os.path.join(root(), INCOMING))
    return tempfile.mkdtemp(prefix=f"{user}-", dir=incoming)


def _rename_noreplace(source: str, target: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    result = libc.renameat2(
        AT_FDCWD, os.fsencode(source), AT_FDCWD, os.fsencode(target), RENAME_NOREPLACE
    )
    if result != 0:
        code = ctypes.get_errno()
        raise Failure(f"could not move the received snapshot into place: {os.strerror(code)}")


def accept(user: str, incoming: str, name: str, expected_uuid: str) -> None:
    """Move the snapshot received in incoming into the volume's folder, only
    if it is exactly what was asked for: the one entry there, a read-only
    subvolume named name whose received UUID is the primary's UUID, and no
    snapshot of that name exists yet. A read-only subvolume can't be moved
    to another directory, so it is made writable for the move (in a folder
    only root reaches) and read-only again; a run stopped in between leaves
    a writable one, which never counts and the next run deletes."""
    entries = os.listdir(incoming)
    if entries != [name]:
        raise Refusal(f"the transfer left {len(entries)} entries, not the snapshot {name}")
    path = os.path.join(incoming, name)
    received = info(path)
    if not received.read_only:
        raise Refusal(f"the received {name} is not read-only: the transfer did not finish")
    if received.received_uuid != expected_uuid:
        raise Refusal(f"the received {name} does not carry the primary's UUID")
    target = os.path.join(snapshot_dir(user, create=True), name)
    if os.path.lexists(target):
        raise Refusal(f"the replica already holds {user}'s snapshot {name}; it is never replaced")
    set_read_only(path, False)
    _rename_noreplace(path, target)
    set_read_only(target, True)
    os.rmdir(incoming)


def delete(user: str, name: str, moment: datetime) -> None:
    """The only way a counted snapshot leaves the replica."""
    snapshots.require_unprotected(name, moment)
    path = os.path.join(snapshot_dir(user), snapshots.snapshot_name(name))
    if name not in counted(user):
        raise Refusal(f"the replica holds no snapshot {name} of {user}")
    _delete_subvolume(path)


def prune(user: str, moment: datetime, primary_holds: set[str]) -> list[str]:
    """Retention with the replica's own policy: keep what it keeps (every
    protected snapshot, the newest, the newest per hour/day/week/month),
    and everything the primary still holds (never less than the primary)."""
    existing = list(counted(user))
    keep = snapshots.to_keep(existing, moment) | primary_holds
    pruned = []
    for name in existing:
        if name not in keep:
            delete(user, name, moment)
            pruned.append(name)
    return pruned


def promote(user: str) -> dict:
    """A writable ``data`` beside the snapshots, from the newest one: the
    volume's files, ready to be shared again. Refused when data exists."""
    held = counted(user)
    if not held:
        raise Refusal(f"the replica holds no snapshot of {user}")
    newest = list(held)[-1]
    target = os.path.join(volume_dir(user), DATA)
    if os.path.lexists(target):
        raise Refusal(f"{user} was already promoted: {DATA} exists")
    source = os.path.join(snapshot_dir(user), newest)
    commands.run(["btrfs", "subvolume", "snapshot", source, target])
    return {"user": user, "snapshot": newest, "data": target}
