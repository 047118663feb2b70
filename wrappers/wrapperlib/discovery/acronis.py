"""Acronis True Image / Cyber Protect Home Office: .tibx and .tib files.

Acronis's documentation ("Backup file naming"): since True Image 2020 disk
backups are <name>.tibx, then <name>_0001.tibx and so on: full and
differential versions in separate files, incremental versions merged into
them, so a file's versions can't be counted from outside. Before 2020 (and
still for file-level backups), <name>_<full|inc|diff>_b<chain>_s<version>_
v<volume>.tib, with "-N" added when the name was taken: one version per
(chain, version) pair. An optional date macro may follow the numbers.

Whether the newest write completed a version is inside the file, so the
date is when the backup's files were last written, completion unknown
("evidence": "last_written"). Each backup name is one source owning its
files by prefix.
"""

import re

from .found import LAST_WRITTEN, Source, newest

FORMAT = "acronis"
TIBX = re.compile(r"(.+?)(?:_\d{4})?\.tibx", re.DOTALL)
TIB = re.compile(r"(.+?)_(?:full|inc|diff)_b(\d+)_s(\d+)_v\d+(?:-\d+)?(?:\..*)?\.tib", re.DOTALL)


def recognise(directory):
    backups = {}
    for entry in directory.entries():
        if entry.kind != "file":
            continue
        tib = TIB.fullmatch(entry.name)
        match = tib or TIBX.fullmatch(entry.name)
        if not match:
            continue
        found = backups.setdefault(match[1], {"versions": set(), "tibx": False, "times": []})
        if tib:
            found["versions"].add((tib[2], tib[3]))
        else:
            found["tibx"] = True
        found["times"].append(directory.mtime_of(entry.name))
    if not backups:
        return None
    return [
        Source(
            FORMAT,
            directory.path,
            machine=name,
            last_backup=newest(*found["times"]),
            # A .tibx holds an unknown number of versions.
            backups=None if found["tibx"] else len(found["versions"]),
            evidence=LAST_WRITTEN,
            # "<name>.tibx", "<name>_0001.tibx", "<name>_full_b1_s1_v1.tib":
            # never another file that merely starts with the name.
            owns=(f"{name}.", f"{name}_"),
        )
        for name, found in sorted(backups.items())
    ]
