"""restic: config, keys/, snapshots/, data/ and index/.

Each backup writes one (encrypted) file to snapshots/ when it completes, so
the newest file there dates the last backup and their number counts them;
data/ (the bulk) is never read.
"""

from .found import IN_PROGRESS, Source, newest
from .locking import fresh_lock

FORMAT = "restic"
MARKER_DIRS = ("keys", "snapshots", "data", "index")


def recognise(directory):
    if not directory.has_file("config") or not all(map(directory.has_dir, MARKER_DIRS)):
        return None
    source = Source(FORMAT, directory.path, backups=0)
    with directory.open_dir("snapshots") as snapshots:
        for entry in snapshots.entries():
            if entry.kind == "file":
                source.backups += 1
                source.last_backup = newest(source.last_backup, snapshots.mtime_of(entry.name))
    if fresh_lock(directory, "locks"):
        source.state = IN_PROGRESS
    return [source]
