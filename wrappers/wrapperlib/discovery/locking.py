"""Lock files that say a backup is running right now."""

import time

# restic and Borg refresh the lock of a running operation every few minutes
# and treat one untouched for 30 minutes as stale (left by a crash).
FRESH_SECONDS = 30 * 60


def fresh_lock(repository, folder):
    """True when repository/folder holds a lock file refreshed recently."""
    if not repository.has_dir(folder):
        return False
    with repository.open_dir(folder) as locks:
        cutoff = time.time() - FRESH_SECONDS
        return any((locks.mtime_of(entry.name) or 0) >= cutoff for entry in locks.entries())
