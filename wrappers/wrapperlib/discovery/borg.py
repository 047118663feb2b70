"""Borg Backup: 1.x repositories, and Borg 2 in both of its layouts.

Borg 1.x (and Borg 2 betas before borgstore): README, an INI config with a
[repository] section whose version is 1 or 2, data/ with the segments, and
integrity.N / index.N / hints.N written at each commit: the highest N is the
last transaction. A lock.exclusive or lock.roster is present while a client
works on the repository (or left by a crash). Archives are listed only in
the encrypted manifest, and `borg prune` and `borg compact` commit
transactions too: nothing unencrypted is written by a new archive alone, so
the date is the last change to the repository ("evidence":
"repository_change"), never called a backup.

Borg 2 on borgstore: config/readme and config/version, one small file per
archive in archives/, locks/ holding the locks of running clients. Only a
new archive adds a file there (prune and compact remove them), so the
newest one dates the last backup.
"""

import re

from .found import IN_PROGRESS, REPOSITORY_CHANGE, Source, newest
from .locking import lock_since
from .walk import Malformed

README_TEXT = b"This is a Borg Backup repository."
TEXT_LIMIT = 64 << 10
TRANSACTION_FILES = (re.compile(r"integrity\.(\d+)"), re.compile(r"index\.(\d+)"))
LOCKS = ("lock.exclusive", "lock.roster")
FORMATS = {1: "borg", 2: "borg2"}
BORGSTORE_FORMAT = "borg2"


def _version(config_text):
    import configparser  # only volumes holding a Borg repository pay for it

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(config_text.decode("utf-8"))
        return parser.getint("repository", "version")
    except (configparser.Error, UnicodeDecodeError, ValueError):
        raise Malformed("config has no valid [repository] version") from None


def _last_transaction(directory):
    """Modification time of the newest integrity.N (index.N before Borg 1.1)."""
    names = [entry.name for entry in directory.entries() if entry.kind == "file"]
    for pattern in TRANSACTION_FILES:
        numbered = [(int(match[1]), match[0]) for match in map(pattern.fullmatch, names) if match]
        if numbered:
            return directory.mtime_of(max(numbered)[1])
    return None


def _segment_repository(directory):
    if directory.head("README", len(README_TEXT)) != README_TEXT:
        return None
    version = _version(directory.read("config", TEXT_LIMIT))
    if version not in FORMATS:
        raise Malformed(f"unknown Borg repository version {version}")
    source = Source(FORMATS[version], directory.path, evidence=REPOSITORY_CHANGE)
    source.last_backup = _last_transaction(directory)
    locked = [directory.mtime_of(lock) for lock in LOCKS if directory.lstat(lock) is not None]
    if locked:
        # lock.exclusive is a folder made when the client takes the lock.
        source.state = IN_PROGRESS
        source.in_progress_since = min((when for when in locked if when is not None), default=None)
    return [source]


def _borgstore_repository(directory):
    with directory.open_dir("config") as config:
        if b"Borg" not in config.head("readme", TEXT_LIMIT):
            return None
        if not config.read("version", TEXT_LIMIT).strip().isdigit():
            raise Malformed("config/version is not a number")
    source = Source(BORGSTORE_FORMAT, directory.path, backups=0)
    with directory.open_dir("archives") as archives:
        for entry in archives.entries():
            if entry.kind == "file":
                source.backups += 1
                source.last_backup = newest(source.last_backup, archives.mtime_of(entry.name))
    since = lock_since(directory, "locks")
    if since is not None:
        source.state, source.in_progress_since = IN_PROGRESS, since
    return [source]


def recognise(directory):
    if directory.has_file("README") and directory.has_file("config"):
        return _segment_repository(directory)
    if directory.has_dir("config") and directory.has_dir("archives"):
        return _borgstore_repository(directory)
    return None
