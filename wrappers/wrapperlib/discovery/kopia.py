"""Kopia: a filesystem repository with its format blob kopia.repository.f.

Snapshots are encrypted manifests, but every snapshot also writes a new
index blob (names starting "n", or "x" for the epoch indexes of Kopia 0.9
and later), either at the top of the repository or, with the default
sharding, in a folder under a top-level folder named by its first
characters. The newest of those is the last time a client wrote to the
repository; pack blobs ("p", the bulk) are never read. Maintenance writes
index blobs too, and snapshot manifests are encrypted: the date is the last
change to the repository ("evidence": "repository_change"), not a backup.
"""

import json

from .found import REPOSITORY_CHANGE, Source, newest
from .walk import Malformed

FORMAT = "kopia"
FORMAT_BLOB = "kopia.repository.f"
FORMAT_BLOB_LIMIT = 64 << 10
INDEX_PREFIXES = ("n", "x")


def _check_format_blob(directory):
    try:
        blob = json.loads(directory.read(FORMAT_BLOB, FORMAT_BLOB_LIMIT))
    except (ValueError, RecursionError):
        raise Malformed(f"{FORMAT_BLOB} is not JSON") from None
    if not isinstance(blob, dict) or not isinstance(blob.get("uniqueID"), str):
        raise Malformed(f"{FORMAT_BLOB} has no uniqueID")


def _index_activity(directory):
    latest = None
    for entry in directory.entries():
        if not entry.name.startswith(INDEX_PREFIXES):
            continue
        latest = newest(latest, directory.mtime_of(entry.name))
        if entry.kind == "dir":
            # A shard folder's time changes whenever a blob is added under it.
            with directory.open_dir(entry.name) as shard:
                for child in shard.entries():
                    latest = newest(latest, shard.mtime_of(child.name))
    return latest


def recognise(directory):
    if not directory.has_file(FORMAT_BLOB):
        return None
    _check_format_blob(directory)
    last_change = _index_activity(directory)
    return [Source(FORMAT, directory.path, last_backup=last_change, evidence=REPOSITORY_CHANGE)]
