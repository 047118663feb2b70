"""Backup discovery: which backups a volume holds, and how recent they are.

scan() runs in the child that wrapperlib.as_user has already dropped to the
volume owner's uid/gid, and reads only through walk.Dir (no symlink
followed, every entry charged to the budget). Everything here is imported
by the root parent before the fork: the unprivileged child could not read
the wrappers' root-only directory to import it later.

Order matters for what survives a bound: marker checks on every top-level
folder (a few lstat calls each) come first, so Time Machine bundles and
repositories are found before any large unknown folder is listed; then the
remaining folders are listed and searched a few levels deep. A top-level
folder holding no backup whose files look copied (mirrors.Tally) is
reported as a copy.
"""

import json
import time

from . import (
    acronis,
    arq,
    backintime,
    backupdb,
    borg,
    duplicati,
    duplicity,
    hyperbackup,
    kopia,
    macrium,
    mirrors,
    rdiff_backup,
    removal,
    restic,
    sizes,
    timemachine,
    urbackup,
    veeam,
    windows,
)
from .found import Source, Unrecognised, newest
from .walk import Budget, Dir, Exhausted, Limits, Malformed

__all__ = ["Limits", "scan"]

# Recognised from names and a few lstat calls, without listing the folder.
MARKER_RECOGNISERS = (
    timemachine.recognise,
    windows.recognise_system_image,
    windows.recognise_file_history,
    backintime.recognise,
    rdiff_backup.recognise,
    restic.recognise,
    borg.recognise,
    kopia.recognise,
    backupdb.recognise,
    hyperbackup.recognise,
    urbackup.recognise,
    arq.recognise,
    mirrors.recognise_freefilesync,
)
# Recognised from the folder's listing. File-based formats share a folder
# (the volume root itself) with anything else: they own only the files
# with their prefix (Source.owns); the others own the whole folder.
LISTING_RECOGNISERS = (
    windows.recognise_backup_set,
    windows.recognise_file_history_user,
    duplicity.recognise,
    duplicati.recognise,
    veeam.recognise,
    macrium.recognise,
    acronis.recognise,
)
# What a report carries at most (wrappers/README.md): a user can fill their
# volume with names, the portal reads a bounded answer. The lists, as JSON,
# share MAX_LISTS_BYTES, sources first; the rest of a report is a few hundred
# bytes, so a whole report stays under 64 KiB.
MAX_SOURCES = 100
MAX_FOLDERS = 100
MAX_LISTS_BYTES = 60 * 1024
# How deep below the volume root a backup folder is looked for.
SEARCH_DEPTH = 3
# Written by the file systems and by macOS or netatalk at a share's root:
# never a backup, never worth listing.
ROOT_NOISE = frozenset(
    {
        "lost+found",
        ".DS_Store",
        ".TemporaryItems",
        ".Trashes",
        ".fseventsd",
        ".Spotlight-V100",
        ".AppleDB",
        ".AppleDesktop",
        ".AppleDouble",
        ".com.apple.timemachine.supported",
        "Network Trash Folder",
        "Temporary Items",
        removal.TRASH,
    }
)
# Every format a source can have (wrappers/README.md).
FORMATS = frozenset(
    (
        timemachine.FORMAT,
        windows.BACKUP_FORMAT,
        windows.IMAGE_FORMAT,
        windows.FILE_HISTORY_FORMAT,
        rdiff_backup.FORMAT,
        backintime.FORMAT,
        restic.FORMAT,
        *borg.FORMATS.values(),
        duplicity.FORMAT,
        duplicati.FORMAT,
        kopia.FORMAT,
        veeam.FORMAT,
        macrium.FORMAT,
        acronis.FORMAT,
        hyperbackup.FORMAT,
        urbackup.FORMAT,
        arq.FORMAT,
        mirrors.FREEFILESYNC_FORMAT,
        mirrors.COPY_FORMAT,
    )
)


class _Scan:
    def __init__(self):
        self.sources = []
        self.unrecognised = []

    def add(self, results):
        for result in results:
            (self.sources if isinstance(result, Source) else self.unrecognised).append(result)

    def by_markers(self, directory):
        """Results if a marker recogniser knows the folder, else None."""
        for recognise in MARKER_RECOGNISERS:
            results = recognise(directory)
            if results is not None:
                return results
        return None

    def by_listing(self, directory):
        """(results or None, prefixes of the files they own, or None for all)."""
        results, prefixes, whole = None, [], False
        for recognise in LISTING_RECOGNISERS:
            found = recognise(directory)
            if found is not None:
                results = [*(results or ()), *found]
                owned = [item.owns for item in found if isinstance(item, Source)]
                if any(prefix is None for prefix in owned):
                    whole = True
                for prefix in owned:
                    if prefix is not None:
                        prefixes.extend((prefix,) if isinstance(prefix, str) else prefix)
        return results, (None if whole else tuple(prefixes))

    def markers_only(self, parent, name):
        """First pass over a top-level folder: True when nothing is left to do."""
        try:
            with parent.open_dir(name) as directory:
                results = self.by_markers(directory)
        except OSError:
            return True  # unreadable for the user: only its own time is known
        except Malformed:
            self.unrecognised.append(Unrecognised((name,), parent.mtime_of(name)))
            return True
        if results is None:
            return False
        self.add(results)
        return True

    def visit(self, parent, name, depth, markers_done=False, tally=None):
        """Recognise parent/name or search inside it; its newest modification time.

        A folder that looks like a format but can't be read as one is
        reported as unrecognised and not searched. tally (a mirrors.Tally)
        learns about every file of an unrecognised folder.
        """
        latest = parent.mtime_of(name)
        try:
            directory = parent.open_dir(name)
        except OSError:
            return latest
        with directory:
            try:
                results = None if markers_done else self.by_markers(directory)
                if results is None:
                    results, _ = self.by_listing(directory)
            except (Malformed, OSError):
                self.unrecognised.append(Unrecognised(directory.path, latest))
                return latest
            if results is not None:
                self.add(results)
                return latest
            for entry in directory.entries():
                if entry.kind == "dir" and depth < SEARCH_DEPTH:
                    changed = self.visit(directory, entry.name, depth + 1, tally=tally)
                else:
                    info = directory.lstat(entry.name)
                    changed = None if info is None else info.st_mtime
                    if info is not None and tally is not None:
                        tally.add(info)
                latest = newest(latest, changed)
        return latest

    def top_level(self, volume, name):
        """Search a top-level folder the marker checks did not know; a copy
        when it holds no backup and its files look copied."""
        tally, before = mirrors.Tally(), len(self.sources)
        latest = self.visit(volume, name, 1, markers_done=True, tally=tally)
        if len(self.sources) == before and (copy := tally.copy((name,))) is not None:
            self.sources.append(copy)
        return latest

    def volume(self, volume, top):
        """Scan the volume root; fills top with {top-level name: newest change}."""
        try:
            volume.entries()
        except Exhausted:
            # Even a root too large to list is reported as far as it was read.
            for entry in volume.partial:
                if entry.name not in ROOT_NOISE and entry.kind == "dir":
                    top[entry.name] = volume.mtime_of(entry.name)
            raise
        try:
            results = self.by_markers(volume)
            if results is not None:
                self.add(results)  # the whole volume is one repository
                return
            results, owned = self.by_listing(volume)
        except (Malformed, OSError):
            self.unrecognised.append(Unrecognised((), volume.mtime))
            results, owned = None, ()
        if results is not None:
            self.add(results)
            if owned is None:
                return
        folders = []
        for entry in volume.entries():
            if entry.name in ROOT_NOISE or entry.name.startswith(("._", *(owned or ()))):
                continue
            # Only folders are listed as "other folders": a loose file at the
            # root is no backup, and listing files too made the list misleading.
            if entry.kind == "dir":
                top[entry.name] = volume.mtime_of(entry.name)
                folders.append(entry.name)
        remaining = [name for name in folders if not self.markers_only(volume, name)]
        for name in remaining:
            top[name] = self.top_level(volume, name)

    def report(self, top, truncated):
        with_sources = {source.path[0] for source in self.sources if source.path}
        reported = {item.path for item in self.unrecognised}
        for name, modified in top.items():
            if name not in with_sources and (name,) not in reported:
                self.unrecognised.append(Unrecognised((name,), modified))
        sources, more_sources, used = _bounded(
            sorted(self.sources, key=_order), MAX_SOURCES, MAX_LISTS_BYTES
        )
        unrecognised, more_unrecognised, _ = _bounded(
            sorted(self.unrecognised, key=_order), MAX_FOLDERS, MAX_LISTS_BYTES - used
        )
        return {
            "truncated": truncated,
            "sources": sources,
            "more_sources": more_sources,
            "unrecognised": unrecognised,
            "more_unrecognised": more_unrecognised,
        }


def _order(item):
    return (item.path, getattr(item, "format", ""))


def _bounded(items, max_count, max_bytes):
    """(the first items as JSON within both bounds, how many were left out,
    bytes used): only what is kept is ever converted."""
    kept, used = [], 0
    for item in items:
        if len(kept) == max_count:
            break
        found = item.as_json()
        size = len(json.dumps(found)) + 2
        if used + size > max_bytes:
            break
        kept.append(found)
        used += size
    return kept, len(items) - len(kept), used


def sources_in(volume):
    """Every source found in volume (an open walk.Dir of the root), with its
    raw path; walk.Exhausted when a bound stopped the search."""
    found = _Scan()
    found.volume(volume, {})
    return found.sources


def scan(root, limits):
    """What backups the volume at root holds, within limits (a walk.Limits).

    Returns {"truncated", "sources", "more_sources", "unrecognised",
    "more_unrecognised"}: at most MAX_SOURCES and MAX_FOLDERS items within
    MAX_LISTS_BYTES, and how many more were found; when a bound is reached,
    what was found until then, with truncated true.
    """
    budget = Budget(limits)
    found, top, truncated = _Scan(), {}, False
    with Dir.open_root(root, budget) as volume:
        try:
            found.volume(volume, top)
        except Exhausted:
            truncated = True
        reported = sorted(found.sources, key=_order)[:MAX_SOURCES]
        sizes.measure(volume, reported, lambda: budget.deadline - time.monotonic())
    return found.report(top, truncated)
