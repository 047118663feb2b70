"""Each request's time limit, enforced in the child that serves it: a
request the web server has already given up on is dropped unread, and one
that outlives the limit dies with its child (SIGALRM's default action), so
that neither keeps costing a core after Apache has answered 504."""

import logging
import math
import re
import select
import signal
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

from flup.server.fcgi_base import Connection

logger = logging.getLogger(__name__)


class LimitedConnection(Connection):
    """flup's FastCGI connection (its private _sock and server: guarded by
    tests/test_flup_internals.py) with the two guards above."""

    def run(self) -> None:
        if hung_up(self._sock):
            logger.info("dropped a request the web server had already given up on")
            self._sock.close()
            return
        signal.alarm(self.server.request_timeout)
        try:
            super().run()
        finally:
            signal.alarm(0)


def hung_up(connection: socket.socket) -> bool:
    """Whether the peer has closed the connection (Apache does on its
    timeout). POLLHUP, not POLLRDHUP: a peer that only stopped sending
    (shutdown SHUT_WR) still waits for the answer."""
    poller = select.poll()
    poller.register(connection, select.POLLIN)
    return any(events & select.POLLHUP for _, events in poller.poll(0))


def request_started(environ: dict[str, Any]) -> float | None:
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


class Deadline:
    """Counts a request's time limit from when the web server received it,
    not from when a child took it: its time waiting in the backlog is part
    of what the web server waits, so the child stops it as the web server
    gives up, and skips one the web server has already given up on."""

    def __init__(self, application: Callable[..., Iterable[bytes]], timeout: int) -> None:
        self.application = application
        self.timeout = timeout

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        started = request_started(environ)
        if started is not None:
            left = started + self.timeout - time.time()
            if left <= 0:
                # Nobody reads this: the web server has answered 504 itself.
                start_response("504 Gateway Timeout", [("Content-Type", "text/plain")])
                return [b"timed out while waiting"]
            signal.alarm(min(self.timeout, math.ceil(left)))
        return self.application(environ, start_response)
