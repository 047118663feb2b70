"""Veeam Agent and Veeam Backup & Replication: a backup chain in files.

Veeam's documentation ("Backup Files", Veeam Help Center): .vbk is a full
backup, .vib an incremental one, .vbr a reverse incremental one, and .vbm
the chain's metadata file, "updated with every backup session". Files are
named <job><date>.vbk, or <job>D<date>_<id>.vbk in recent versions, beside
<job>.vbm. The date in a name is the client's local time, in a zone the
server doesn't know, so times are the modification times the server
recorded.

A chain's sessions completed up to its .vbm's last write: backup files
written after it belong to a session that is running or was stopped, in
progress since the oldest such write the server recorded. A chain without a
.vbm is
dated by its newest file with completion unknown ("evidence":
"last_written"). Each job is one source, named by the job; the files own
their folder only by their job's prefix (Veeam files may sit at the volume
root beside other things).
"""

import re

from .found import IN_PROGRESS, LAST_WRITTEN, Source, newest, oldest

FORMAT = "veeam"
BACKUP_FILE = re.compile(
    r"(.+?)D?\d{4}-\d{2}-\d{2}T\d{6}(?:_[0-9A-Fa-f]{4})?\.(?:vbk|vib|vbr)", re.DOTALL
)
METADATA = re.compile(r"(.+)\.vbm", re.DOTALL)
# The .vbm is rewritten within moments of a session's last backup file.
SLACK_SECONDS = 120


def recognise(directory):
    chains, metadata = {}, {}
    for entry in directory.entries():
        if entry.kind != "file":
            continue
        if match := BACKUP_FILE.fullmatch(entry.name):
            chains.setdefault(match[1], []).append(directory.mtime_of(entry.name))
        elif match := METADATA.fullmatch(entry.name):
            metadata[match[1]] = directory.mtime_of(entry.name)
    if not chains and not metadata:
        return None
    sources = []
    for job in sorted(set(chains) | set(metadata)):
        written = [when for when in chains.get(job, []) if when is not None]
        # Its metadata and its dated files (dates start 20…), never another
        # file that merely starts with the job's name.
        owns = (f"{job}.vbm", f"{job}D2", f"{job}2")
        source = Source(FORMAT, directory.path, machine=job, owns=owns)
        completed_at = metadata.get(job)
        if completed_at is None:
            source.last_backup, source.evidence = newest(*written), LAST_WRITTEN
            source.backups = len(written)
        else:
            done = [when for when in written if when <= completed_at + SLACK_SECONDS]
            later = [when for when in written if when > completed_at + SLACK_SECONDS]
            source.backups, source.last_backup = len(done), newest(*done)
            if later or not done:
                source.state = IN_PROGRESS
                source.in_progress_since = oldest(*later)
        sources.append(source)
    return sources
