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
import math
import os
import re
import select
import signal
import socket
import stat
import sys
import time
from pathlib import Path

from flup.server.fcgi_base import Connection
from flup.server.fcgi_fork import WSGIServer

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
        self._fd: int | None = None

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
        assert self._fd is not None, "write() before acquire()"
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{pid}\n".encode(), 0)

    def release(self):
        assert self._fd is not None, "release() before acquire()"
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
        # Requests beyond the children wait here, not in flup, so the backlog
        # is the largest the kernel allows (net.core.somaxconn, 4096 on
        # current kernels): far above the requests Apache can have open at
        # once (MaxRequestWorkers), so connecting never fails under load.
        listener.listen(socket.SOMAXCONN)
    except (OSError, KeyError) as error:
        listener.close()
        path.unlink()
        raise DaemonError(f"cannot give {path} group {group} and mode {mode:o}: {error}") from None
    return listener


class _Connection(Connection):
    """flup's FastCGI connection, run in a child with two guards: a request
    the web server has already given up on (it waited in the listen backlog
    past Apache's timeout) is dropped unread, and a request that outlives
    the time limit dies with its child (SIGALRM's default action), so that
    neither keeps costing a core after Apache has answered 504."""

    def run(self):
        if _hung_up(self._sock):
            logger.info("dropped a request the web server had already given up on")
            self._sock.close()
            return
        signal.alarm(self.server.request_timeout)
        try:
            super().run()
        finally:
            signal.alarm(0)


def _hung_up(connection):
    """Whether the peer has closed the connection (Apache does on its
    timeout). POLLHUP, not POLLRDHUP: a peer that only stopped sending
    (shutdown SHUT_WR) still waits for the answer."""
    poller = select.poll()
    poller.register(connection, select.POLLIN)
    return any(events & select.POLLHUP for _, events in poller.poll(0))


def _request_started(environ):
    """When the web server received the request, in seconds since the epoch,
    from X-Request-Start (the Apache site sets it in microseconds, "t=%t";
    the nginx example in seconds, "t=$msec"; either replaces a client's
    own, and a forged one could only shorten its own request), or None."""
    found = re.fullmatch(r"t=(\d{1,17})(\.\d{1,6})?", environ.get("HTTP_X_REQUEST_START", ""))
    if found is None:
        return None
    if found.group(2):
        return float(found.group(1) + found.group(2))
    return int(found.group(1)) / 1_000_000


class _Deadline:
    """Counts a request's time limit from when the web server received it,
    not from when a child took it: its time waiting in the backlog is part
    of what the web server waits, so the child stops it as the web server
    gives up, and skips one the web server has already given up on."""

    def __init__(self, application, timeout):
        self.application = application
        self.timeout = timeout

    def __call__(self, environ, start_response):
        started = _request_started(environ)
        if started is not None:
            left = started + self.timeout - time.time()
            if left <= 0:
                # Nobody reads this: the web server has answered 504 itself.
                start_response("504 Gateway Timeout", [("Content-Type", "text/plain")])
                return [b"timed out while waiting"]
            signal.alarm(min(self.timeout, math.ceil(left)))
        return self.application(environ, start_response)


class _Server(WSGIServer):
    """flup's preforking WSGI server with a fixed pool of children.

    Why processes and a fixed pool: one Python process uses one core, and
    flup's threaded server closes connections beyond its thread count
    (Apache then answers 503). Here every child accepts from the one
    listening socket only when it is free, so requests beyond the pool wait
    in the socket's listen backlog (bind_socket sizes it) instead of being
    refused, in arrival order, whichever Apache process sent them. The pool
    is fixed (flup bug 1: PreforkServer.run compares the state byte a child
    sends, bytes from recv(), with the str '\\x00', so on Python 3 every
    child counts as available and the spare bookkeeping never grows the
    pool), so the parent only replaces children that exit. It replaces
    flup's parent loop (flup bug 2: PreforkServer.run waits in select() with
    no wake-up for signals, and Python 3 retries the call after SIGTERM, PEP
    475, so the parent stops only when the next request arrives) with one
    woken by the signals themselves (set_wakeup_fd).

    flup 1.0.3 is its last release, so these are flup's private internals
    used on purpose; tests/test_flup_internals.py pins each name used here
    and checks that both bugs are still there.
    """

    def __init__(self, application, listener, *, workers, request_timeout):
        self._listener = listener
        self.request_timeout = request_timeout
        super().__init__(
            _Deadline(application, request_timeout),
            bindAddress=listener.getsockname(),
            minSpare=workers,
            maxSpare=workers,
            maxChildren=workers,
            debug=False,
        )
        self._workers = workers
        self._jobClass = _Connection
        self._web_server_addrs = None
        self._wake: tuple[int, int] = (-1, -1)

    def run(self):
        reader, writer = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._wake = (reader, writer)
        self._keepGoing = True
        self._installSignalHandlers()
        self._listener.setblocking(False)
        try:
            while self._keepGoing:
                spawned = True
                while self._keepGoing and len(self._children) < self._workers and spawned:
                    spawned = self._spawnChild(self._listener)
                links = [child["file"] for child in self._children.values() if child["file"]]
                # A failed fork (out of processes) is retried a second later.
                ready, _, _ = select.select([*links, reader], [], [], None if spawned else 1)
                for link in ready:
                    if link == reader:
                        with contextlib.suppress(BlockingIOError):
                            os.read(reader, 512)
                    elif not link.recv(512):
                        # Children report busy/idle; we don't need it, but an
                        # unread link would fill up and block the child.
                        self._close_link(link)
                self._reap()
        finally:
            self._stop_children()
            self._restoreSignalHandlers()
            os.close(reader)
            os.close(writer)

    def _close_link(self, link):
        for child in self._children.values():
            if child["file"] is link:
                link.close()
                child["file"] = None

    def _reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            child = self._children.pop(pid, None)
            if child is not None and child["file"] is not None:
                child["file"].close()
            if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGALRM:
                logger.warning(
                    "a request ran longer than %s s: stopped its process %s",
                    self.request_timeout,
                    pid,
                )
                # And what it started (sudo relays the signal to the wrapper).
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGTERM)

    def _stop_children(self):
        """Idle children exit as their link closes, busy ones after their
        request, which their time limit bounds; any left after that die."""
        for child in self._children.values():
            if child["file"] is not None:
                child["file"].close()
                child["file"] = None
        deadline = time.monotonic() + self.request_timeout + KILL_WAIT_SECONDS
        while self._children and time.monotonic() < deadline:
            self._reap()
            time.sleep(POLL_SECONDS)
        for pid in list(self._children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            self._children.pop(pid)

    def _wake_up(self, signum, frame):
        if signum != signal.SIGCHLD:
            self._keepGoing = False

    def _installSignalHandlers(self):  # noqa: N802 (flup's name)
        handled = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD)
        self._oldSIGs = [(number, signal.getsignal(number)) for number in handled]
        for number in handled:
            signal.signal(number, self._wake_up)
        signal.set_wakeup_fd(self._wake[1])

    def _restoreSignalHandlers(self):  # noqa: N802 (flup calls it in each new child too)
        signal.set_wakeup_fd(-1)
        for number, handler in self._oldSIGs:
            signal.signal(number, handler)

    def _child(self, sock, parent):
        """A child's life. It ends in os._exit: flup ends it with sys.exit,
        whose SystemExit would run the parent's cleanup (removing the live
        socket and pidfile) in the child."""
        status = 0
        try:
            os.close(self._wake[0])
            os.close(self._wake[1])
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            super()._child(sock, parent)
        except KeyboardInterrupt:
            pass
        except BaseException:  # logged; the parent starts a new child
            logger.exception("a FastCGI child failed")
            status = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)


def default_workers():
    """Two children per usable core, plus one: requests spend part of their
    time waiting for sudo wrappers and SQLite, so one per core would leave
    cores idle, and many more only add memory and contention."""
    return 2 * len(os.sched_getaffinity(0)) + 1


def serve(
    application_factory,
    *,
    socket_path,
    pidfile_path,
    socket_mode,
    socket_group=None,
    workers=None,
    request_timeout=30,
    replace=False,
    timeout=30,
    on_ready=None,
):
    """Serve until SIGTERM, SIGINT or SIGHUP, then let the requests in
    progress finish (each within request_timeout); the socket and pidfile go
    with the daemon."""
    pidfile = PidFile(pidfile_path)
    pidfile.acquire(replace=replace, timeout=timeout)
    try:
        listener = bind_socket(socket_path, mode=socket_mode, group=socket_group)
        bound_inode = os.stat(socket_path).st_ino
        try:
            server = _Server(
                application_factory(),
                listener,
                workers=workers or default_workers(),
                request_timeout=request_timeout,
            )
            pidfile.write(os.getpid())
            logger.info(
                "serving on %s (pid %s, %s children, %s s per request)",
                socket_path,
                os.getpid(),
                server._workers,
                request_timeout,
            )
            if on_ready is not None:
                on_ready()
            server.run()
        finally:
            listener.close()
            with contextlib.suppress(FileNotFoundError):
                if os.stat(socket_path).st_ino == bound_inode:
                    os.unlink(socket_path)
        logger.info("stopped (pid %s)", os.getpid())
    finally:
        pidfile.release()
