"""restic: config, keys/, snapshots/, data/ and index/.

Each backup writes one (encrypted) file to snapshots/ when it completes, so
their number counts the backups. `restic tag` (and `restic rewrite`)
replaces a snapshot's file with a new one too, without backing anything up:
a backup saves its index (index/) just before its snapshot, a tag writes no
index. So the last backup is the newest snapshot file with an index file
written within INDEX_WINDOW before it. Only when none has (a repository
whose indexes `restic prune` rewrote since) is the newest snapshot file the
date. A backup of unchanged files writes no index either: it is dated by the
backup before it, an older date, never a newer one. data/ (the bulk) is
never read.
"""

import bisect

from .found import IN_PROGRESS, Source, newest, plausible
from .locking import lock_since

FORMAT = "restic"
MARKER_DIRS = ("keys", "snapshots", "data", "index")
# How long before its snapshot a backup's last index file can be written.
INDEX_WINDOW = 10 * 60


def _times(directory, name):
    with directory.open_dir(name) as folder:
        times = [folder.mtime_of(entry.name) for entry in folder.entries() if entry.kind == "file"]
    return sorted(when for when in times if plausible(when) is not None)


def _with_index(snapshot_time, index_times):
    at = bisect.bisect_right(index_times, snapshot_time + 1)
    return at > 0 and index_times[at - 1] >= snapshot_time - INDEX_WINDOW


def recognise(directory):
    if not directory.has_file("config") or not all(map(directory.has_dir, MARKER_DIRS)):
        return None
    snapshots = _times(directory, "snapshots")
    source = Source(FORMAT, directory.path, backups=len(snapshots))
    if snapshots:
        index_times = _times(directory, "index")
        saved = [when for when in snapshots if _with_index(when, index_times)]
        source.last_backup = newest(*saved) if saved else snapshots[-1]
    since = lock_since(directory, "locks")
    if since is not None:
        source.state, source.in_progress_since = IN_PROGRESS, since
    return [source]
