"""The daemon's listening unix socket: made with exactly the mode asked
for, a stale one (left by a killed daemon) replaced, a live one refused.

This stays in the daemon rather than in its runner (systemd, bin/start.sh):
only the process that binds the socket can tell a stale one from a live one
at the moment it takes its place, and only it knows when to remove it.
"""

import errno
import grp
import logging
import os
import socket
import stat
from pathlib import Path

logger = logging.getLogger(__name__)


class SocketError(Exception):
    """The daemon can't listen; the message says why and what to do, errno
    is the closest error number (for the runner, readiness.failed)."""

    def __init__(self, message: str, errno_: int) -> None:
        super().__init__(message)
        self.errno = errno_


def _answers(path: Path) -> bool:
    """Whether something accepts connections on the unix socket at path."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(2)
    try:
        probe.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):
        return False
    except PermissionError:
        raise SocketError(
            f"cannot tell whether {path} is in use (permission denied): "
            "run as the service user, or remove it if no daemon runs",
            errno.EACCES,
        ) from None
    except (TimeoutError, BlockingIOError):
        return True  # its backlog is full: very much alive
    finally:
        probe.close()
    return True


def bind_socket(path: Path, *, mode: int, group: str | None = None) -> socket.socket:
    """A listening unix socket at path; a stale socket file is replaced, a
    live one (something answers) is refused."""
    path = Path(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    if info is not None:
        if not stat.S_ISSOCK(info.st_mode):
            raise SocketError(
                f"{path} exists and is not a socket: remove it or choose another", errno.EEXIST
            )
        if _answers(path):
            raise SocketError(
                f"another server is listening on {path}: stop it first", errno.EADDRINUSE
            )
        logger.info("removing stale socket %s", path)
        path.unlink()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # Created private, then opened up to exactly the mode asked for.
    previous_umask = os.umask(0o177)
    try:
        listener.bind(str(path))
    except OSError as error:
        listener.close()
        raise SocketError(
            f"cannot create {path}: {error.strerror}", error.errno or errno.EINVAL
        ) from None
    finally:
        os.umask(previous_umask)
    try:
        if group is not None:
            os.chown(path, -1, grp.getgrnam(group).gr_gid)
        os.chmod(path, mode)
        # Requests beyond the children wait here, not in flup, so the backlog
        # is the largest the kernel allows (net.core.somaxconn, 4096 on
        # current kernels): far above the requests Apache can have open at
        # once (MaxRequestWorkers), so connecting never fails under load.
        listener.listen(socket.SOMAXCONN)
    except (OSError, KeyError) as error:
        listener.close()
        path.unlink()
        raise SocketError(
            f"cannot give {path} group {group} and mode {mode:o}: {error}",
            getattr(error, "errno", None) or errno.EINVAL,
        ) from None
    return listener


def remove_if_ours(path: Path, inode: int) -> None:
    """Remove the socket at path if it is still the one we bound (inode):
    one a newer daemon bound in its place stays."""
    try:
        if os.stat(path).st_ino == inode:
            os.unlink(path)
    except FileNotFoundError:
        pass
