"""Duplicati: duplicati-<time>.dlist.zip (one per completed backup, times in
UTC) beside duplicati-b….dblock.zip and duplicati-i….dindex.zip; ".aes" when
encrypted, ".7z" with the 7z compression module."""

import re

from .found import IN_PROGRESS, Source, parse_compact_utc

FORMAT = "duplicati"
FILE_PREFIX = "duplicati-"
DLIST = re.compile(r"duplicati-(\d{8}T\d{6}Z)\.dlist\.(?:zip|7z)(?:\.aes)?")
BLOCKS = re.compile(r"duplicati-[bi][0-9a-f]+\.d(?:block|index)\.(?:zip|7z)(?:\.aes)?")


def recognise(directory):
    backups, has_blocks = [], False
    for entry in directory.entries():
        if entry.kind != "file" or not entry.name.startswith(FILE_PREFIX):
            continue
        match = DLIST.fullmatch(entry.name)
        when = parse_compact_utc(match[1]) if match else None
        if when is not None:
            backups.append(when)
        elif BLOCKS.fullmatch(entry.name):
            has_blocks = True
    if not backups and not has_blocks:
        return None
    source = Source(FORMAT, directory.path, last_backup=max(backups, default=None))
    source.backups = len(backups)
    if not backups:
        source.state = IN_PROGRESS  # blocks uploaded, the first file list not yet
    return [source]
