"""Locks so that two operations on one volume (or on the pool's free space)
never interleave, whichever processes run them."""

import contextlib
import fcntl
import os
import time

from .config import settings
from .errors import Refusal


@contextlib.contextmanager
def _lock(name, busy_message, timeout=None):
    config = settings()
    os.makedirs(config.LOCK_DIR, mode=0o700, exist_ok=True)
    path = os.path.join(config.LOCK_DIR, f"{name}.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
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


def volume_lock(user, timeout=None):
    """Held for the whole of any operation on USER's volume; waits up to
    timeout seconds (LOCK_TIMEOUT_SECONDS when None) for another to end."""
    return _lock(
        f"volume-{user}",
        f"another operation on {user}'s volume is still running; try again in a minute",
        timeout,
    )


def pool_lock():
    """Held while free space is checked and then taken."""
    return _lock("pool", "another volume is being created or grown; try again in a minute")
