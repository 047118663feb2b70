"""Root's private mount of a volume for one operation (changing snapshots,
checking protection, laying out or growing a filesystem).

It lives at a fixed place, <LOCK_DIR>/mnt-<user>: LOCK_DIR is root's alone
(mode 0700), so no other account can reach what is mounted there, and a
wrapper stopped before it could unmount (SIGKILL, a crash) leaves it where
the next run on that volume finds it (recovery.py, called when the volume's
lock is taken) and releases it. One per volume is enough: every operation on
a volume holds its lock. A reboot releases them too (LOCK_DIR is on /run).
"""

import contextlib
import errno
import os

from . import crashsafe, locks, mounts
from .config import settings
from .errors import Failure


def point(user: str) -> str:
    # user is validated ([a-z][a-z0-9._-]*): the name stays in LOCK_DIR.
    return os.path.join(settings().LOCK_DIR, f"mnt-{user}")


def leftover(user: str) -> bool:
    """Whether a private mount point of user's is there (a run was stopped)."""
    return os.path.lexists(point(user))


def release_leftover(user: str) -> None:
    """Detach whatever a stopped run left mounted at user's private point and
    remove the point. Detached (lazily), not refused when busy: only root
    could be using it, and nothing of root's is left running."""
    import ctypes

    # The lock directory is checked (root's, 0700) before anything in it is used.
    os.close(locks.root_only_directory(settings().LOCK_DIR))
    where = point(user)
    libc = ctypes.CDLL(None, use_errno=True)
    if os.path.islink(where):
        # Only root can write there; whatever made it, it is never followed.
        os.unlink(where)
        return
    while mounts.mounted_at(where) is not None:
        crashsafe.step()
        if libc.umount2(os.fsencode(where), mounts.MNT_DETACH | mounts.UMOUNT_NOFOLLOW) != 0:
            code = ctypes.get_errno()
            raise Failure(f"cannot release {where}: {os.strerror(code)}")
    with contextlib.suppress(FileNotFoundError):
        os.rmdir(where)


@contextlib.contextmanager
def mounted(device: str, user: str, fstype: str, options: str):
    """device mounted at user's private point for the duration; unmounted
    and the point removed on every way out (a deferred signal included)."""
    if leftover(user):
        release_leftover(user)
    os.close(locks.root_only_directory(settings().LOCK_DIR))
    where = point(user)
    crashsafe.step()
    os.mkdir(where, 0o700)
    try:
        mounts.mount_directly(device, where, fstype, options)
        try:
            yield where
        finally:
            crashsafe.step()
            if not mounts.umount(where):
                raise Failure(f"could not unmount {where}")
    finally:
        try:
            os.rmdir(where)
        except OSError as error:
            # Still mounted (busy): the next run releases it.
            if error.errno not in (errno.EBUSY, errno.ENOTEMPTY):
                raise
