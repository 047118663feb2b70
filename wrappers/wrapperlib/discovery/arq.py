"""Arq 7: a backup set folder.

Arq's "Data Format" documentation (Arq 7): a backup set holds
backupconfig.json (the plan's settings, with "computerName" and
"isEncrypted"), backupfolders.json, backupfolders/, treepacks/, blobpacks/
and so on. For each folder the plan backs up, backupfolders/<UUID>/
backuprecords/ holds one file per completed backup record, named by its
creation time in seconds since the epoch split after the first five digits
(backuprecords/00161/5501300.backuprecord). Those names date the completed
backups exactly, in UTC; the record files' contents may be encrypted and
are never read.
"""

import json
import re

from .found import Source, newest, plausible
from .walk import Malformed

FORMAT = "arq"
CONFIG = "backupconfig.json"
CONFIG_LIMIT = 64 << 10
FOLDERS = "backupfolders"
RECORDS = "backuprecords"
HEAD = re.compile(r"\d{5}")
RECORD = re.compile(r"(\d{1,7})\.backuprecord")


def _computer_name(directory):
    try:
        config = json.loads(directory.read(CONFIG, CONFIG_LIMIT))
    except (ValueError, RecursionError):
        return None  # an encrypted set's files are not JSON
    name = config.get("computerName") if isinstance(config, dict) else None
    return name if isinstance(name, str) and name else None


def _record_times(folder):
    times = []
    if not folder.has_dir(RECORDS):
        return times
    with folder.open_dir(RECORDS) as records:
        for head in records.subdirectories():
            if not HEAD.fullmatch(head):
                continue
            with records.open_dir(head) as group:
                for entry in group.entries():
                    match = RECORD.fullmatch(entry.name)
                    if match and entry.kind == "file":
                        times.append(int(head + match[1]))
    return times


def recognise(directory):
    if not (directory.has_file(CONFIG) and directory.has_dir(FOLDERS)):
        return None
    source = Source(FORMAT, directory.path, machine=_computer_name(directory))
    times = []
    try:
        with directory.open_dir(FOLDERS) as folders:
            for name in folders.subdirectories():
                with folders.open_dir(name) as folder:
                    times.extend(_record_times(folder))
    except OSError:
        raise Malformed(f"{FOLDERS} can't be read") from None
    dated = [when for when in times if plausible(when) is not None]
    source.backups, source.last_backup = len(dated), newest(*dated)
    return [source]
