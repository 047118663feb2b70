"""flup's preforking WSGI server, with a fixed pool of children.

Why processes and a fixed pool: one Python process uses one core, and
flup's threaded server closes connections beyond its thread count (Apache
then answers 503). Here every child accepts from the one listening socket
only when it is free, so requests beyond the pool wait in the socket's
listen backlog (sockets.bind_socket sizes it) instead of being refused, in
arrival order, whichever Apache process sent them; the parent only replaces
children that exit.

The design card asks for FastCGI with flup, and flup 1.0.3 (2018) is its
last release: this module subclasses its private internals on purpose
(_spawnChild, _children, _jobClass, _keepGoing, _child, the signal-handler
pair). tests/test_flup_internals.py pins each name used here, and checks
that each flup bug worked around below is still there, so that a flup that
changes either fails by name. flup has no public bug tracker any more (its
Mercurial host is gone), so each workaround cites the line of flup 1.0.3's
own source that has the bug.
"""

import contextlib
import logging
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable

from flup.server.fcgi_fork import WSGIServer

from .request_limits import Deadline, LimitedConnection

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.05
# After SIGKILL the kernel frees a child at once; this is ample.
KILL_WAIT_SECONDS = 10


class FixedPoolServer(WSGIServer):
    """flup's preforking WSGI server serving the listener with exactly
    `workers` children, each request within `request_timeout` seconds."""

    def __init__(
        self,
        application: Callable[..., Iterable[bytes]],
        listener: socket.socket,
        *,
        workers: int,
        request_timeout: int,
    ) -> None:
        self._listener = listener
        self.request_timeout = request_timeout
        # flup bug 1 (flup 1.0.3, flup/server/preforkserver.py line 184,
        # PreforkServer.run: `self._children[pid]['avail'] = state != '\x00'`
        # compares the bytes from recv() with a str, so on Python 3 every
        # child always counts as available and the spare bookkeeping never
        # grows the pool): the pool is fixed, minSpare = maxSpare = workers.
        super().__init__(
            Deadline(application, request_timeout),
            bindAddress=listener.getsockname(),
            minSpare=workers,
            maxSpare=workers,
            maxChildren=workers,
            debug=False,
        )
        self.workers = workers
        self._jobClass = LimitedConnection
        # flup sets it in its own run(), which this class replaces; None
        # lets every client in (only the socket's mode guards who connects).
        self._web_server_addrs = None
        self._wake: tuple[int, int] = (-1, -1)

    def run(self) -> None:
        """The parent's loop, replacing flup's PreforkServer.run.

        flup bug 2 (flup 1.0.3, flup/server/preforkserver.py line 164,
        PreforkServer.run: `select.select(r, w, [], timeout)` has no wake-up
        for signals, and Python 3 retries the call after SIGTERM, PEP 475,
        so the parent stops only when the next request arrives): this loop
        is woken by the signals themselves (signal.set_wakeup_fd)."""
        reader, writer = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._wake = (reader, writer)
        self._keepGoing = True
        self._installSignalHandlers()
        self._listener.setblocking(False)
        try:
            while self._keepGoing:
                spawned = True
                while self._keepGoing and len(self._children) < self.workers and spawned:
                    spawned = self._spawnChild(self._listener)
                links = [child["file"] for child in self._children.values() if child["file"]]
                # A failed fork (out of processes) is retried a second later.
                ready, _, _ = select.select([*links, reader], [], [], None if spawned else 1)
                for link in ready:
                    if link == reader:
                        with contextlib.suppress(BlockingIOError):
                            os.read(reader, 512)
                    elif not link.recv(512):
                        # Children report busy/idle (see bug 1: we can't use
                        # it), but an unread link would fill up and block
                        # the child.
                        self._close_link(link)
                self._reap()
        finally:
            self._stop_children()
            self._restoreSignalHandlers()
            os.close(reader)
            os.close(writer)

    def _close_link(self, link: socket.socket) -> None:
        for child in self._children.values():
            if child["file"] is link:
                link.close()
                child["file"] = None

    def _reap(self) -> None:
        """Forget the children that exited; one stopped by its request's
        time limit (request_limits) takes what it started with it."""
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

    def _stop_children(self) -> None:
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

    def _wake_up(self, signum: int, frame: object) -> None:
        if signum != signal.SIGCHLD:
            self._keepGoing = False

    def _installSignalHandlers(self) -> None:  # noqa: N802 (flup's name)
        handled = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD)
        self._oldSIGs = [(number, signal.getsignal(number)) for number in handled]
        for number in handled:
            signal.signal(number, self._wake_up)
        signal.set_wakeup_fd(self._wake[1])

    def _restoreSignalHandlers(self) -> None:  # noqa: N802 (flup calls it in each new child too)
        signal.set_wakeup_fd(-1)
        for number, handler in self._oldSIGs:
            signal.signal(number, handler)

    def _child(self, sock: socket.socket, parent: socket.socket) -> None:
        """A child's life. It ends in os._exit: flup ends it with sys.exit
        (flup 1.0.3, flup/server/preforkserver.py line 342, in _spawnChild),
        whose SystemExit would run the parent's cleanup (removing the live
        socket) in the child."""
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
