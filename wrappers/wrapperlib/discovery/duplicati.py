"""Duplicati: <prefix>-<time>.dlist.zip (one per completed backup, times in
UTC) beside <prefix>-b….dblock.zip and <prefix>-i….dindex.zip; ".aes" or
".gpg" when encrypted, ".7z" with the 7z compression module.

The prefix is "duplicati" unless the job sets --prefix, which Duplicati's
documentation offers for keeping several backups in one folder and which
can't contain a hyphen: each prefix found is one source, named by its
prefix when it is not the default.
"""

import re

from .found import IN_PROGRESS, Source, newest, parse_compact_utc, plausible

FORMAT = "duplicati"
DEFAULT_PREFIX = "duplicati"
DLIST = re.compile(r"([^-]+)-(\d{8}T\d{6}Z)\.dlist\.(?:zip|7z)(?:\.aes|\.gpg)?")
BLOCKS = re.compile(r"([^-]+)-[bi][0-9a-f]+\.d(?:block|index)\.(?:zip|7z)(?:\.aes|\.gpg)?")


def recognise(directory):
    backups, with_blocks = {}, set()
    for entry in directory.entries():
        if entry.kind != "file":
            continue
        match = DLIST.fullmatch(entry.name)
        when = parse_compact_utc(match[2]) if match else None
        if when is not None:
            backups.setdefault(match[1], []).append(when)
        elif blocks := BLOCKS.fullmatch(entry.name):
            with_blocks.add(blocks[1])
    if not backups and not with_blocks:
        return None
    sources = []
    for prefix in sorted(set(backups) | with_blocks):
        dated = [when for when in backups.get(prefix, []) if plausible(when) is not None]
        source = Source(FORMAT, directory.path, last_backup=newest(*dated))
        source.machine = None if prefix == DEFAULT_PREFIX else prefix
        source.backups = len(dated)
        source.owns = f"{prefix}-"
        if not dated:
            source.state = IN_PROGRESS  # blocks uploaded, the first file list not yet
        sources.append(source)
    return sources
