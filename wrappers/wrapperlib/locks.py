"""Locks so that two operations on one volume (or on the pool's free space)
never interleave, whichever processes run them.

The lock files live in LOCK_DIR, a directory only root may create and use:
under a world-writable directory such as /run/lock any local user could
create it first and hold the pool lock (blocking every create and grow), or
make it a symlink so that root creates files elsewhere. So it is made with
mode 0700, opened without following symlinks, and refused (before anything
else happens) when it exists with another owner or mode.
"""

import contextlib
import fcntl
import os
import stat
import time

from .config import settings
from .errors import Refusal

LOCK_DIR_MODE = 0o700
# What a stopped run leaves in LOCK_DIR: a private mount point
# (private_mounts.py) and an intent record (records.py).
_LEFT = ("mnt", "intent")


def root_only_directory(path: str, description: str = "lock directory") -> int:
    """An fd on a directory of root's alone (LOCK_DIR, STATE_DIR), created
    if missing; refused unless root's with mode 0700."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, LOCK_DIR_MODE)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        raise Refusal(
            f"unsafe {description} {path}: it is not a directory (a symlink?); "
            "remove it and run again"
        ) from None
    info = os.fstat(fd)
    if info.st_uid != 0 or stat.S_IMODE(info.st_mode) != LOCK_DIR_MODE:
        os.close(fd)
        raise Refusal(
            f"unsafe {description} {path}: it must be owned by root with mode 0700; "
            "someone else may have made it: remove it and run again"
        )
    return fd


@contextlib.contextmanager
def _lock(name, busy_message, timeout=None):
    config = settings()
    directory = root_only_directory(config.LOCK_DIR)
    try:
        fd = os.open(
            f"{name}.lock",
            os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o600,
            dir_fd=directory,
        )
    finally:
        os.close(directory)
    try:
        wait = config.LOCK_TIMEOUT_SECONDS if timeout is None else timeout
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise Refusal(busy_message) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def volume_lock(user, timeout=None):
    """Held for the whole of any operation on USER's volume; waits up to
    timeout seconds (LOCK_TIMEOUT_SECONDS when None) for another to end.

    Once held, what a stopped run left (a private mount, an intent record:
    recovery.py) is put in order before the operation starts. Looking costs
    two lstat calls; the recovery code is imported only when needed."""
    with _lock(
        f"volume-{user}",
        f"another operation on {user}'s volume is still running; try again in a minute",
        timeout,
    ):
        directory = settings().LOCK_DIR
        if any(os.path.lexists(os.path.join(directory, f"{kind}-{user}")) for kind in _LEFT):
            from . import recovery

            recovery.recover(user)
        yield


def pool_lock():
    """Held while free space is checked and then taken."""
    return _lock("pool", "another volume is being created or grown; try again in a minute")


# Global locks a tool may take by name: a fixed list, so that no caller can
# make a lock file named after something it was given (a volume's name has
# its own lock, volume_lock).
GLOBAL_LOCKS = frozenset({"replica-pull"})


def global_lock(name: str, busy_message: str, timeout: float | None = None):
    """Held for the whole of an operation that must not overlap another of
    the same NAME on this server (a replica pull and a promote, say); waits
    up to timeout seconds (LOCK_TIMEOUT_SECONDS when None), then refuses
    with busy_message. NAME must be one of GLOBAL_LOCKS."""
    if name not in GLOBAL_LOCKS:
        raise ValueError(f"unknown global lock {name!r}")
    return _lock(name, busy_message, timeout)
