"""How much space each source takes, within a budget of its own.

After recognition, each reported source's folder is walked (never following
a symlink, never leaving the file system) and the space of what it holds is
added up from lstat (allocated blocks: what the volume really gives it). The
walk shares SIZE_MAX_ENTRIES between the sources still to measure, so one
2 TB Time Machine bundle can't starve the others, and stops at the scan's
deadline. A source cut short reports what was counted with
"size_estimated": true (a lower bound); one not reached reports null.
A file with several hard links (Back In Time and rsync --link-dest
snapshots share unchanged files between snapshots) takes its space once:
it is counted at its first link only.
"""

import os
import stat

from .walk import Budget, Exhausted, Limits

SIZE_MAX_ENTRIES = 100_000
MAX_DEPTH = 64


def _space(info):
    return info.st_blocks * 512


def _tree(directory, depth, total, linked):
    """Add the space under directory to total[0]; walk.Exhausted stops it.
    linked holds the inodes with several links already counted."""
    for entry in directory.entries():
        info = directory.lstat(entry.name)
        if info is None:
            continue
        if info.st_nlink > 1 and not stat.S_ISDIR(info.st_mode):
            if info.st_ino in linked:
                continue
            linked.add(info.st_ino)
        total[0] += _space(info)
        if stat.S_ISDIR(info.st_mode) and depth < MAX_DEPTH:
            try:
                child = directory.open_dir(entry.name)
            except OSError:
                continue  # unreadable for the user, or another file system
            with child:
                _tree(child, depth + 1, total, linked)


def _open(root, path, budget):
    directory = root.reopen(budget)
    for name in path:
        try:
            inner = directory.open_dir(name)
        finally:
            directory.close()
        directory = inner
    return directory


def _measure(root, source, budget):
    """(bytes, complete) for one source."""
    total = [0]
    directory = _open(root, source.path, budget)
    try:
        if source.owns is not None:
            # A file-based format in a folder it shares: its own files only.
            for entry in directory.entries():
                if entry.kind == "file" and entry.name.startswith(source.owns):
                    info = directory.lstat(entry.name)
                    total[0] += _space(info) if info else 0
        else:
            total[0] += _space(os.fstat(directory.fd))
            _tree(directory, 0, total, set())
    except Exhausted:
        return total[0], False
    finally:
        directory.close()
    return total[0], True


def measure(root, sources, seconds_left):
    """Set size_bytes and size_estimated on sources (those without a size yet)."""
    pending = [source for source in sources if source.size_bytes is None]
    entries_left = SIZE_MAX_ENTRIES
    for index, source in enumerate(pending):
        share = entries_left // (len(pending) - index)
        seconds = seconds_left()
        if share <= 0 or seconds <= 0:
            return
        budget = Budget(Limits(share, seconds))
        try:
            source.size_bytes, complete = _measure(root, source, budget)
        except OSError:
            continue
        source.size_estimated = not complete
        entries_left -= share - max(budget.entries_left, 0)
