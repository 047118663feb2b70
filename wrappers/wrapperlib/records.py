"""Small records root keeps about a volume, one file per volume and kind,
in a directory only root can use:

- ``suspended``, in STATE_DIR (kept across reboots): written by suspend.py
  once the volume is unmounted, removed by resume.py last and when the
  volume is removed. A suspended volume is never mounted at boot, never
  snapshotted, and its snapshots' protection never grows. The record, not
  a locked password, is what the wrappers trust: an administrator may lock
  a password for other reasons, and the record can't be changed by any
  account but root.
- ``intent``, in LOCK_DIR (gone at reboot, like the mounts it is about):
  how the volume's mounts must be left when a wrapper changing them stops
  half-way ("mounted" or "unmounted"); see recovery.py.

Written without ever following a link: opened relative to the directory's
descriptor with O_NOFOLLOW, a temporary made with O_EXCL, fsync'd, renamed
over the record and the directory fsync'd, so a record is either the old or
the new one after a crash, never a torn one.
"""

import contextlib
import os
import stat

from . import atomic_files, crashsafe, locks
from .config import settings
from .errors import Refusal

SUSPENDED = "suspended"
INTENT = "intent"


def _directory(kind):
    config = settings()
    if kind == SUSPENDED:
        return locks.root_only_directory(config.STATE_DIR, "state directory")
    return locks.root_only_directory(config.LOCK_DIR)


def _name(kind, user):
    # user is validated ([a-z][a-z0-9._-]*): the name stays in the directory.
    return f"{kind}-{user}"


def read(kind: str, user: str) -> str | None:
    """The record's text, or None when there is none."""
    directory = _directory(kind)
    try:
        fd = os.open(
            _name(kind, user), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=directory
        )
    except FileNotFoundError:
        return None
    except OSError as error:
        # A link (ELOOP) or anything else but a file: never followed.
        raise Refusal(f"unsafe record {_name(kind, user)}: {error.strerror}") from None
    finally:
        os.close(directory)
    with os.fdopen(fd, encoding="utf-8") as record:
        if not stat.S_ISREG(os.fstat(record.fileno()).st_mode):
            raise Refusal(f"unsafe record {_name(kind, user)}: not a regular file")
        return record.read(4096)


def write(kind: str, user: str, text: str) -> None:
    directory = _directory(kind)
    try:
        atomic_files.replace(directory, _name(kind, user), text, 0o600)
    finally:
        os.close(directory)


def remove(kind: str, user: str) -> None:
    directory = _directory(kind)
    try:
        crashsafe.step()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(_name(kind, user), dir_fd=directory)
            os.fsync(directory)
    finally:
        os.close(directory)


def suspended(user: str) -> bool:
    return read(SUSPENDED, user) is not None
