"""Checking what the replica holds, on a schedule of its own: every copy
still read-only with a received UUID (what made it count), the same UUID
the primary lists for that snapshot while the primary still holds it, and
a sample of each volume's newest copy read back in full (btrfs checks
every block it reads against its checksum, so a damaged block fails the
read). ``btrfs scrub`` of the whole pool, on a longer schedule, covers the
blocks the sample doesn't. The same sample is hashed while it is read and
compared with the primary's sha256 of the same files in the same snapshot
(``checksum USER SNAPSHOT``, replica_checksums) while the primary still
holds it: a file that differs is a copy that is not the primary's.
"""

import hashlib
import json
import os
import random
import re
import stat

from . import replica_checksums, replica_pull, replica_store, snapshots
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


def _read_back(path: str) -> tuple[int, str | None]:
    """(bytes read, sha256) of a regular file; (0, None) for anything else."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return 0, None
        total, hashed = 0, hashlib.sha256()
        while chunk := os.read(fd, READ_CHUNK):
            total += len(chunk)
            hashed.update(chunk)
        return total, hashed.hexdigest()
    finally:
        os.close(fd)


SHA256 = re.compile(r"[0-9a-f]{64}")


def _primary_checksums(user: str, snapshot: str, paths: list[str]) -> dict[str, str | None]:
    """{path: the primary's sha256, or None when it could not read it}; the
    answer is hostile: only the paths asked for, only well-formed digests."""
    refs = {replica_checksums.ref_path(path): path for path in paths}
    answer = json.loads(replica_pull.ask(f"checksum {user} {snapshot}", "\n".join(refs).encode()))
    files = answer.get("files") if isinstance(answer, dict) else None
    if not isinstance(files, dict):
        raise Failure("the primary's checksums are malformed")
    found = {}
    for ref, path in refs.items():
        entry = files.get(ref)
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        found[path] = digest if isinstance(digest, str) and SHA256.fullmatch(digest) else None
    return found


def _compare(user: str, newest: str, digests: dict[str, str]) -> tuple[int, list[str], str | None]:
    """(files compared, paths that differ, why not compared)."""
    if not digests:
        return 0, [], None
    try:
        theirs = _primary_checksums(user, newest, sorted(digests))
    except (Refusal, Failure, OSError, ValueError) as failure:
        return 0, [], f"not compared with the primary: {failure}"
    compared = {path: digest for path, digest in theirs.items() if digest is not None}
    differing = sorted(path for path, digest in compared.items() if digest != digests[path])
    return len(compared), differing, None


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
    unreadable, files, read_bytes, digests = [], 0, 0, {}
    compared, differing, not_compared = 0, [], None
    if held:
        newest_name = list(held)[-1]
        newest = os.path.join(folder, newest_name)
        try:
            sample = _sample(newest, SAMPLE_FILES)
        except OSError as error:
            where = os.path.relpath(error.filename or newest, newest)
            sample, unreadable = [], [f"{where}: {error.strerror}"]
        for path in sample:
            try:
                size, digest = _read_back(path)
                read_bytes += size
                files += 1
                if digest is not None:
                    digests[os.path.relpath(path, newest)] = digest
            except OSError as error:
                unreadable.append(f"{os.path.relpath(path, newest)}: {error.strerror}")
        if primary is not None and newest_name in primary:
            compared, differing, not_compared = _compare(user, newest_name, digests)
    return {
        "copies": len(held),
        "mismatched": mismatched,
        "files_read": files,
        "bytes_read": read_bytes,
        "unreadable": unreadable[:20],
        "compared": compared,
        "differing": differing[:20],
        "not_compared": not_compared,
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
