"""Time Machine into a folder: Backups.backupdb/<Mac>/<YYYY-MM-DD-HHMMSS>/.

The HFS+ layout of Time Machine (macOS 10.15 and earlier on a local disk,
and inside every network bundle before APFS), as Apple describes it for
restoring by hand: Backups.backupdb holds a folder per Mac, which holds one
folder per completed backup named by its date (the Mac's local time), the
symbolic link "Latest" to the newest, and <date>.inProgress while a backup
runs (renamed to its date when it completes). The link is remade when a
backup completes, so its own modification time (lstat, never followed)
dates the last completed backup; without it, the newest dated folder's.
"""

import re
import stat

from .found import IN_PROGRESS, Source, newest, oldest, unrecognised_child
from .timemachine import FORMAT
from .walk import Malformed

CONTAINER = "Backups.backupdb"
BACKUP = re.compile(r"\d{4}-\d{2}-\d{2}-\d{6}")
IN_PROGRESS_SUFFIX = ".inProgress"
LATEST = "Latest"


def _machine(container, name):
    with container.open_dir(name) as mac:
        entries = mac.entries()
        backups = [e.name for e in entries if e.kind == "dir" and BACKUP.fullmatch(e.name)]
        running = [e.name for e in entries if e.name.endswith(IN_PROGRESS_SUFFIX)]
        if not backups and not running:
            raise Malformed("no dated backup folder")
        source = Source(FORMAT, mac.path, machine=name, backups=len(backups))
        latest = mac.lstat(LATEST)
        if latest is not None and stat.S_ISLNK(latest.st_mode):
            source.last_backup = newest(latest.st_mtime)
        else:
            source.last_backup = newest(*map(mac.mtime_of, backups))
        if running:
            source.state = IN_PROGRESS
            source.in_progress_since = oldest(*map(mac.mtime_of, running))
        return source


def recognise(directory):
    if directory.name != CONTAINER:
        return None
    results = []
    for name in directory.subdirectories():
        try:
            results.append(_machine(directory, name))
        except (Malformed, OSError):
            results.append(unrecognised_child(directory, name))
    return results
