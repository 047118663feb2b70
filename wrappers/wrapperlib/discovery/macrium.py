"""Macrium Reflect: image (.mrimg) and file and folder (.mrbak) backups.

Macrium's knowledge base ("Backup File Naming", and the backup set
explanation): a backup set is named by its 16-hexadecimal-digit Image ID,
optionally followed by a custom name, and each file ends with a number pair
"-xx-yy": xx is the increment (00 the full backup, 01 the first
incremental or differential), yy the file number within a split
increment. Reflect X writes .mrimgx and .mrbakx with the same names.
Files often sit loose at the volume root, beside anything else: each set
owns only the files starting with its Image ID.

Whether the newest file was completed is inside the file (and Reflect X
resumes interrupted images into the same file), so the date is when the
set's files were last written, completion unknown ("evidence":
"last_written"); the computer's check-in says whether it completed.
"""

import re

from .found import LAST_WRITTEN, Source, newest

FORMAT = "macrium"
BACKUP_FILE = re.compile(
    r"([0-9A-Fa-f]{16})(?:[-_ ].*?)?-(\d{2})-(\d{2})\.(?:mrimg|mrbak)x?", re.DOTALL
)


def recognise(directory):
    sets = {}
    for entry in directory.entries():
        if entry.kind != "file":
            continue
        if match := BACKUP_FILE.fullmatch(entry.name):
            increments, times = sets.setdefault(match[1], (set(), []))
            increments.add(match[2])
            times.append(directory.mtime_of(entry.name))
    if not sets:
        return None
    return [
        Source(
            FORMAT,
            directory.path,
            last_backup=newest(*times),
            backups=len(increments),
            evidence=LAST_WRITTEN,
            owns=image_id,
        )
        for image_id, (increments, times) in sorted(sets.items())
    ]
