"""UrBackup file and image backups: <storage>/<client>/.

UrBackup's server stores each client's file backups in folders named by
the backup's start, YYMMDD-HHMM (the server's local time), and points the
symbolic link "current" at the last complete one; each file backup holds a
".hashes" folder. Image backups are files Image_<volume>_YYMMDD-HHMM with
.raw, .vhd or .vhdz. The link is made when a backup completes, so its own
modification time (read with lstat, never followed) dates the last
completed file backup, and its target (read, never followed) tells which
folder that is. A dated folder newer than the link's target is a backup
running or interrupted, in progress since that folder was made. A client's
very first backup, before any link exists, is not recognised (only a listing
could find it, and marker checks never list a folder).
"""

import os
import re
import stat

from .found import IN_PROGRESS, Source, newest, oldest

FORMAT = "urbackup"
FILE_BACKUP = re.compile(r"\d{6}-\d{4}(?:_Image)?")
IMAGE = re.compile(r"Image_[A-Za-z0-9]+_(\d{6}-\d{4})\.(?:raw|vhdz?)")
CURRENT = "current"


def _current_target(directory):
    try:
        target = os.readlink(CURRENT, dir_fd=directory.fd)
    except OSError:
        return None
    return os.path.basename(target.rstrip("/"))


def recognise(directory):
    link = directory.lstat(CURRENT)
    if link is None or not stat.S_ISLNK(link.st_mode):
        return None
    entries = directory.entries()
    dated = sorted(e.name for e in entries if e.kind == "dir" and FILE_BACKUP.fullmatch(e.name))
    images = [
        directory.mtime_of(e.name) for e in entries if e.kind == "file" and IMAGE.fullmatch(e.name)
    ]
    if not dated and not images:
        return None
    target = _current_target(directory)
    later = [name for name in dated if target is not None and name > target]
    source = Source(FORMAT, directory.path, machine=directory.name)
    source.backups = len(dated) - len(later) + len(images)
    source.last_backup = newest(link.st_mtime, *images)
    if later:
        source.state = IN_PROGRESS
        source.in_progress_since = oldest(*map(directory.mtime_of, later))
    return [source]
