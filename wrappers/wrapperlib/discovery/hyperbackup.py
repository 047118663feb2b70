"""Synology Hyper Backup: a <task>.hbk folder.

A Hyper Backup target ("backup to a remote rsync server or shared folder")
is a folder named after the task with ".hbk" appended, holding
SynoInfo.conf (the source NAS and the task), Config/ (the version
database), Control/ (the task's state, rewritten by every run) and Pool/
(the deduplicated, possibly encrypted data). The versions are inside
Config's databases, not readable from names: the date is the last write
to Control/ and Config/, completion unknown ("evidence": "last_written").
"""

import re

from .found import LAST_WRITTEN, Source, newest

FORMAT = "hyper_backup"
NAME = re.compile(r"(.+)\.hbk", re.DOTALL)
INFO = "SynoInfo.conf"
STATE_FOLDERS = ("Control", "Config")


def recognise(directory):
    name = NAME.fullmatch(directory.name)
    if not name:
        return None
    if not (directory.has_file(INFO) or all(map(directory.has_dir, (*STATE_FOLDERS, "Pool")))):
        return None
    written = [directory.mtime]
    for folder in STATE_FOLDERS:
        if directory.has_dir(folder):
            with directory.open_dir(folder) as state:
                written.append(state.mtime)
                written.extend(state.mtime_of(entry.name) for entry in state.entries())
    return [
        Source(
            FORMAT,
            directory.path,
            machine=name[1],
            last_backup=newest(*written),
            evidence=LAST_WRITTEN,
        )
    ]
