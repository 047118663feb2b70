"""rdiff-backup: a mirror with rdiff-backup-data/ beside it.

rdiff-backup-data/current_mirror.<time>.data names the last completed
session; a second one appears while a session runs and stays behind when it
was interrupted (the next run, or --check-destination-dir, cleans up).
"""

import datetime
import re

from .found import IN_PROGRESS, UTC, Source, plausible
from .walk import Malformed

FORMAT = "rdiff_backup"
DATA_DIR = "rdiff-backup-data"
# 2024-01-31T23:59:59Z or +01:00, or with "-" for ":" (--use-compatible-timestamps).
_TIME = r"(\d{4}-\d{2}-\d{2}T\d{2}[:-]\d{2}[:-]\d{2})(Z|[+-]\d{2}[:-]\d{2})"
CURRENT_MIRROR = re.compile(rf"current_mirror\.{_TIME}\.data")
# One mirror_metadata file per session, kept as long as its increment.
MIRROR_METADATA = re.compile(rf"mirror_metadata\.{_TIME}\.(?:snapshot|diff)(?:\.gz)?")


def _seconds(match):
    local, zone = match.group(1), match.group(2)
    moment = datetime.datetime.strptime(
        local[:10] + local[11:].replace("-", ":"), "%Y-%m-%d%H:%M:%S"
    )
    if zone == "Z":
        return moment.replace(tzinfo=UTC).timestamp()
    sign = 1 if zone[0] == "+" else -1
    offset = datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return moment.replace(tzinfo=datetime.timezone(sign * offset)).timestamp()


def _times(names, pattern):
    found = set()
    for name in names:
        match = pattern.fullmatch(name)
        if match:
            try:
                when = _seconds(match)
                if plausible(when) is not None:
                    found.add(when)
            except ValueError:
                raise Malformed(f"{name} holds an impossible time") from None
    return sorted(found)


def recognise(directory):
    if not directory.has_dir(DATA_DIR):
        return None
    with directory.open_dir(DATA_DIR) as data:
        names = [entry.name for entry in data.entries()]
    mirrors = _times(names, CURRENT_MIRROR)
    if len(mirrors) > 2:
        raise Malformed(f"{len(mirrors)} current_mirror markers")
    source = Source(FORMAT, directory.path)
    if len(mirrors) != 1:
        source.state = IN_PROGRESS
    if mirrors:
        source.last_backup = mirrors[0]
        sessions = _times(names, MIRROR_METADATA)
        source.backups = sum(1 for when in sessions if when <= source.last_backup)
    return [source]
