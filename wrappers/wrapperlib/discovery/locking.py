"""Lock files that say a backup is running, or was stopped before it ended.

restic and Borg 2 refresh the lock of a running operation every few minutes
and treat one untouched for 30 minutes as stale (left by a crash). A stale
lock is still no completed backup: the operation that left it was killed or
lost its connection. Either way the repository has a backup in progress
(running or interrupted), and it has been so since the oldest lock was last
written: a killed backup's lock stops being refreshed when it dies, so the
stall clock runs from there, not from the first scan that saw it.
"""


def lock_since(repository, folder):
    """The oldest modification time of a lock in repository/folder, or None
    when there is no lock."""
    if not repository.has_dir(folder):
        return None
    with repository.open_dir(folder) as locks:
        times = [locks.mtime_of(entry.name) for entry in locks.entries() if entry.kind == "file"]
    times = [when for when in times if when is not None]
    return min(times) if times else None
