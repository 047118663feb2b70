"""Checking what the replica holds, on a schedule of its own: every copy
still read-only with a received UUID (what made it count), the same UUID
the primary lists for that snapshot while the primary still holds it, and
a sample of each volume's newest copy read back in full (btrfs checks
every block it reads against its checksum, so a damaged block fails the
read). ``btrfs scrub`` of the whole pool, on a longer schedule, covers the
blocks the sample doesn't.
"""

import os
import random
import stat

from . import replica_pull, replica_store, snapshots
from .errors import Failure, Refusal
from .replica_subvolumes import NO_UUID, info, is_subvolume

SAMPLE_FILES = 20
MAX_ENTRIES = 100_000
READ_CHUNK = 1 << 20


def _sample(root: str, count: int) -> list[str]:
    """Up to count regular files under root, chosen at random among the
    first MAX_ENTRIES entries met, never following a link."""
    found, seen, pending = [], 0, [root]
    while pending and seen < MAX_ENTRIES:
        directory = pending.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                seen += 1
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    found.append(entry.path)
    return random.sample(found, min(count, len(found)))


def _read_back(path: str) -> int:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return 0
        total = 0
        while chunk := os.read(fd, READ_CHUNK):
            total += len(chunk)
        return total
    finally:
        os.close(fd)


def _mismatched(user: str, primary: dict[str, str] | None) -> list[str]:
    """Snapshots in the volume's folder that no longer count (only counted
    copies are ever moved there: one whose read-only flag or received UUID
    is gone was changed since), or whose UUID is not the primary's."""
    folder = replica_store.snapshot_dir(user)
    found = []
    with os.scandir(folder) as entries:
        for entry in entries:
            path = os.path.join(folder, entry.name)
            if snapshots.taken_at(entry.name) is None or not is_subvolume(path):
                continue
            current = info(path)
            changed = not current.read_only or current.received_uuid == NO_UUID
            listed = primary.get(entry.name) if primary is not None else None
            if changed or listed not in (None, current.received_uuid):
                found.append(entry.name)
    return sorted(found, key=snapshots.taken_at)


def volume(user: str, primary: dict[str, str] | None) -> dict:
    held = replica_store.counted(user)
    folder = replica_store.snapshot_dir(user)
    mismatched = _mismatched(user, primary) if os.path.isdir(folder) else []
    unreadable, files, read_bytes = [], 0, 0
    if held:
        newest = os.path.join(folder, list(held)[-1])
        try:
            sample = _sample(newest, SAMPLE_FILES)
        except OSError as error:
            where = os.path.relpath(error.filename or newest, newest)
            sample, unreadable = [], [f"{where}: {error.strerror}"]
        for path in sample:
            try:
                read_bytes += _read_back(path)
                files += 1
            except OSError as error:
                unreadable.append(f"{os.path.relpath(path, newest)}: {error.strerror}")
    return {
        "copies": len(held),
        "mismatched": mismatched,
        "files_read": files,
        "bytes_read": read_bytes,
        "unreadable": unreadable[:20],
    }


def run() -> dict:
    """Every volume the replica holds; the primary's listing when it
    answers (else the UUIDs are checked against nothing but themselves)."""
    try:
        primary, error = replica_pull.list_primary(), None
    except (Refusal, Failure, OSError) as failure:
        primary, error = None, str(failure)
    volumes = {
        user: volume(user, primary.get(user) if primary is not None else None)
        for user in replica_store.volumes()
    }
    report = {
        "checked_at": snapshots.iso(snapshots.now()),
        "primary_reachable": primary is not None,
        "error": error,
        "volumes": volumes,
    }
    _write(report)
    return report


def _write(report: dict) -> None:
    """<REPLICA_ROOT>/.verify.json, replaced whole, for a portal to read."""
    import json

    target = os.path.join(replica_store.root(), replica_pull.VERIFY_FILE)
    temporary = f"{target}.new"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(report, out, sort_keys=True)
        out.write("\n")
    os.replace(temporary, target)
