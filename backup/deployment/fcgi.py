"""The FastCGI daemon: the portal served by flup on a unix socket.

Django dropped ``runfcgi``; this replaces it for bin/start.sh and the systemd
unit. The pidfile is locked (flock) for the daemon's whole life, which makes
it the single source of truth for "is a daemon running": a second start is
refused (or, with ``replace``, stops the first and takes over), and a pidfile
or socket left behind by a crash is recognised as stale and replaced.
"""

import contextlib
import fcntl
import grp
import logging
import os
import signal
import socket
import stat
import time
from pathlib import Path

from flup.server.fcgi import WSGIServer

logger = logging.getLogger("backup.deployment.fcgi")

POLL_SECONDS = 0.05
# After SIGKILL the kernel frees the pidfile lock at once; this is ample.
KILL_WAIT_SECONDS = 10


class DaemonError(Exception):
    """The daemon can't start or stop; the message says why and what to do."""


class PidFile:
    """A pidfile that is locked while its daemon lives."""

    def __init__(self, path):
        self.path = Path(path)
        self._fd = None

    def _try_lock(self):
        """Lock the pidfile; False when another process holds it."""
        while True:
            try:
                fd = os.open(
                    self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644
                )
            except FileNotFoundError:
                raise DaemonError(
                    f"{self.path.parent} does not exist: create it (sudo bin/install does)"
                ) from None
            except PermissionError:
                raise DaemonError(
                    f"cannot write {self.path}: run as the service user that owns "
                    f"{self.path.parent}"
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            # The previous holder unlinks the file as it exits: a lock on a
            # file that is no longer at the path means nothing.
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                return True
            os.close(fd)

    def holder(self):
        """The pid written by the daemon holding the lock (None if unreadable)."""
        try:
            return int(self.path.read_text().strip())
        except (OSError, ValueError):
            return None

    def _wait(self, timeout):
        deadline = time.monotonic() + timeout
        while not self._try_lock():
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_SECONDS)
        return True

    def _wait_for_lock(self, pid, timeout):
        """Wait for the holder to exit after SIGTERM; a daemon still busy
        after the grace period (threads stuck in long requests) is killed:
        a restart must never need someone to run kill -9. True if it had to
        be killed."""
        if self._wait(timeout):
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if not self._wait(KILL_WAIT_SECONDS):
            raise DaemonError(f"the daemon (pid {pid}) did not stop even after SIGKILL")
        return True

    def acquire(self, *, replace=False, timeout=30):
        """Take the pidfile; with replace, stop its holder first. Returns
        the pid that had to be killed after the grace period, or None."""
        if self._try_lock():
            return None
        pid = self.holder()
        if not replace:
            raise DaemonError(f"already running (pid {pid}, {self.path}); bin/start.sh restarts it")
        _terminate(pid)
        return pid if self._wait_for_lock(pid, timeout) else None

    def write(self, pid):
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{pid}\n".encode(), 0)

    def release(self):
        with contextlib.suppress(FileNotFoundError):
            if os.stat(self.path).st_ino == os.fstat(self._fd).st_ino:
                self.path.unlink()
        os.close(self._fd)
        self._fd = None


def _terminate(pid):
    if pid is None:
        raise DaemonError("the pidfile is locked but names no process: stop the daemon by hand")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)


def stop(pidfile_path, timeout=30):
    """Stop the daemon of this pidfile: "stopped", "killed" (it was still
    busy after timeout seconds of SIGTERM), or None if none was running."""
    pidfile = PidFile(pidfile_path)
    if pidfile._try_lock():
        pidfile.release()
        return None
    pid = pidfile.holder()
    _terminate(pid)
    killed = pidfile._wait_for_lock(pid, timeout)
    pidfile.release()
    return "killed" if killed else "stopped"


def _answers(path):
    """Whether something accepts connections on the unix socket at path."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(2)
    try:
        probe.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):
        return False
    except PermissionError:
        raise DaemonError(
            f"cannot tell whether {path} is in use (permission denied): "
            "run as the service user, or remove it if no daemon runs"
        ) from None
    except (TimeoutError, BlockingIOError):
        return True  # its backlog is full: very much alive
    finally:
        probe.close()
    return True


def bind_socket(path, *, mode, group=None):
    """A listening unix socket at path; a stale socket file is replaced, a
    live one (something answers) is refused."""
    path = Path(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    if info is not None:
        if not stat.S_ISSOCK(info.st_mode):
            raise DaemonError(f"{path} exists and is not a socket: remove it or choose another")
        if _answers(path):
            raise DaemonError(f"another server is listening on {path}: stop it first")
        logger.info("removing stale socket %s", path)
        path.unlink()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # Created private, then opened up to exactly the mode asked for.
    previous_umask = os.umask(0o177)
    try:
        listener.bind(str(path))
    except OSError as error:
        listener.close()
        raise DaemonError(f"cannot create {path}: {error.strerror}") from None
    finally:
        os.umask(previous_umask)
    try:
        if group is not None:
            os.chown(path, -1, grp.getgrnam(group).gr_gid)
        os.chmod(path, mode)
        listener.listen(socket.SOMAXCONN)
    except (OSError, KeyError) as error:
        listener.close()
        path.unlink()
        raise DaemonError(f"cannot give {path} group {group} and mode {mode:o}: {error}") from None
    return listener


class _Server(WSGIServer):
    """flup's threaded WSGI server on a socket prepared by bind_socket (flup's
    own setup unlinks whatever is at the path, even a live daemon's socket)."""

    def __init__(self, application, listener, max_threads):
        self._listener = listener
        super().__init__(
            application, bindAddress=listener.getsockname(), maxThreads=max_threads, debug=False
        )

    def _setupSocket(self):  # noqa: N802 (flup's name)
        return self._listener


def serve(
    application_factory,
    *,
    socket_path,
    pidfile_path,
    socket_mode,
    socket_group=None,
    max_threads=16,
    replace=False,
    timeout=30,
    on_ready=None,
):
    """Serve until SIGTERM, SIGINT or SIGHUP; the socket and pidfile go with it."""
    pidfile = PidFile(pidfile_path)
    pidfile.acquire(replace=replace, timeout=timeout)
    try:
        listener = bind_socket(socket_path, mode=socket_mode, group=socket_group)
        bound_inode = os.stat(socket_path).st_ino
        try:
            server = _Server(application_factory(), listener, max_threads)
            pidfile.write(os.getpid())
            logger.info("serving on %s (pid %s)", socket_path, os.getpid())
            if on_ready is not None:
                on_ready()
            # flup stops its loop on SIGTERM, SIGINT and SIGHUP, then waits for
            # the requests in progress.
            server.run()
        finally:
            listener.close()
            with contextlib.suppress(FileNotFoundError):
                if os.stat(socket_path).st_ino == bound_inode:
                    os.unlink(socket_path)
        logger.info("stopped (pid %s)", os.getpid())
    finally:
        pidfile.release()
