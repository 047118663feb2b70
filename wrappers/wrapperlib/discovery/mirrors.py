"""Copies and mirrors: FreeFileSync folders, and folders that rsync,
robocopy, rclone or any copy tool keeps in step with a computer's folder.

A copy keeps no versions: it is labelled a copy ("evidence": "copy"),
never a versioned backup. Copy tools preserve the source files' own
modification times (rsync -a, robocopy's default /COPY:DAT, rclone, Explorer
and FreeFileSync all do), so those say when the files were last edited on
the computer, not when they were copied: the date of a copy is the newest
time the server itself recorded a write into the folder (st_ctime, which no
client can set).

FreeFileSync (manual, "Synchronization Settings"): a two-way sync, or any
sync using its database, writes "sync.ffs_db" into both base folders after
each synchronization, and it locks a folder with "sync.ffs_lock" while
synchronising: the database's write dates the last completed sync, a lock
is a sync in progress since the lock was written.

Other copies carry no marker. A folder is taken for one when at least half
the files read in it have a modification time well before the server's record
of when they were written (COPY_GAP_SECONDS), as preserved times are; files
saved into the share directly are written when they are modified.
"""

import re
import stat

from .found import COPY, IN_PROGRESS, Source, newest, plausible

FREEFILESYNC_FORMAT = "freefilesync"
COPY_FORMAT = "copy"
DATABASE = "sync.ffs_db"
LOCK = "sync.ffs_lock"
# A file's time is "preserved" when it is older than its write by this much.
COPY_GAP_SECONDS = 3600
# Fewer files than this say nothing about how a folder was filled.
MIN_FILES = 5
MIN_PRESERVED_SHARE = 0.5
# What snapshot-restore.py makes (a copy the portal made of a snapshot, not
# a computer's copy), " (2)"… when the name was taken: its default name, or
# the one the portal gives in its user's language, "<words> YYYY-MM-DD HH.MM
# <zone> <words>" (backup.pages.times.file_name_time).
RESTORED = re.compile(
    r"Restored \d{4}-\d{2}-\d{2} \d{2}\.\d{2} from snapshot(?: \(\d+\))?"
    r"|[^/]{1,80} \d{4}-\d{2}-\d{2} \d{2}\.\d{2} [A-Za-z0-9+-]{1,6} [^/]{1,80}"
)


def recognise_freefilesync(directory):
    database = directory.lstat(DATABASE)
    if database is None or not stat.S_ISREG(database.st_mode):
        return None
    source = Source(FREEFILESYNC_FORMAT, directory.path, evidence=COPY)
    source.last_backup = newest(database.st_mtime)
    lock = directory.lstat(LOCK)
    if lock is not None:
        source.state, source.in_progress_since = IN_PROGRESS, plausible(lock.st_mtime)
    return [source]


class Tally:
    """What the files of one unrecognised folder say about how they came there."""

    __slots__ = ("files", "preserved", "written")

    def __init__(self):
        self.files = 0
        self.preserved = 0
        self.written = None

    def add(self, info):
        if not stat.S_ISREG(info.st_mode):
            return
        self.files += 1
        if info.st_ctime - info.st_mtime > COPY_GAP_SECONDS:
            self.preserved += 1
        self.written = newest(self.written, info.st_ctime)

    def copy(self, path):
        """A copy Source for the folder at path, or None when it isn't one."""
        if self.files < MIN_FILES or self.preserved < MIN_PRESERVED_SHARE * self.files:
            return None
        if RESTORED.fullmatch(path[-1]):
            return None
        return Source(COPY_FORMAT, path, last_backup=self.written, evidence=COPY)
