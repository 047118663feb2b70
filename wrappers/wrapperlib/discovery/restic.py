"""restic: config, keys/, snapshots/, data/ and index/.

Each backup writes one (encrypted) file to snapshots/ when it completes, so
their number counts the backups. `restic tag` (and `restic rewrite`)
replaces a snapshot's file with a new one too, without backing anything up.
A backup saves its index (index/) just before its snapshot; a tag writes no
index. So a snapshot file with an index saved just before it (INDEX_WINDOW) is a
backup, dated by its file; any other is dated by the newest index written
before it (for a rewritten snapshot, the last backup that saved data). A snapshot older than every
index (`restic prune` rewrote them since) is dated by its own file. A
backup of unchanged files writes no index either: it is dated by the
backup before it, an older date, never a newer one. data/ (the bulk) is
never read.
"""

import bisect

from .found import IN_PROGRESS, Source, newest, plausible
from .locking import lock_since

FORMAT = "restic"
MARKER_DIRS = ("keys", "snapshots", "data", "index")
# How long before its snapshot file a backup saves its last index (restic
# flushes the index, then saves the snapshot, at once); a tag within this
# long after a backup is taken for it.
INDEX_WINDOW = 2 * 60


def _times(directory, name):
    with directory.open_dir(name) as folder:
        times = [folder.mtime_of(entry.name) for entry in folder.entries() if entry.kind == "file"]
    return sorted(when for when in times if plausible(when) is not None)


def _saved(snapshot_time, index_times):
    """When the backup of the snapshot file written at snapshot_time
    completed: that time if an index was saved just before it, else when
    the last index before it was saved."""
    at = bisect.bisect_right(index_times, snapshot_time + 1)
    if not at:
        return snapshot_time
    index_time = index_times[at - 1]
    return snapshot_time if index_time >= snapshot_time - INDEX_WINDOW else index_time


def recognise(directory):
    if not directory.has_file("config") or not all(map(directory.has_dir, MARKER_DIRS)):
        return None
    snapshots = _times(directory, "snapshots")
    source = Source(FORMAT, directory.path, backups=len(snapshots))
    if snapshots:
        index_times = _times(directory, "index")
        source.last_backup = newest(*(_saved(when, index_times) for when in snapshots))
    since = lock_since(directory, "locks")
    if since is not None:
        source.state, source.in_progress_since = IN_PROGRESS, since
    return [source]
