"""The FastCGI daemon: the portal served by flup on a unix socket.

Django dropped ``runfcgi``; manage.py runfcgi serves the portal in the
foreground through serve() below. Backgrounding, the pidfile and restarts
belong to the runner (the systemd unit, or bin/start.sh through
start-stop-daemon), not to the daemon. The parts, one concern each:

- sockets: the listening socket (stale replaced, live refused, removed at exit);
- prefork: flup's preforking server with a fixed pool (flup's internals and
  the workarounds for its bugs);
- request_limits: each request's time limit, counted from when the web
  server received it;
- readiness: telling the runner that the daemon serves (sd_notify).
"""

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from .prefork import FixedPoolServer
from .sockets import SocketError, bind_socket, remove_if_ours

logger = logging.getLogger(__name__)

__all__ = ["SocketError", "default_workers", "serve"]


def default_workers() -> int:
    """Two children per usable core, plus one: requests spend part of their
    time waiting for sudo wrappers and SQLite, so one per core would leave
    cores idle, and many more only add memory and contention."""
    return 2 * len(os.sched_getaffinity(0)) + 1


def serve(
    application_factory: Callable[[], Callable[..., Iterable[bytes]]],
    *,
    socket_path: Path,
    socket_mode: int,
    socket_group: str | None = None,
    workers: int | None = None,
    request_timeout: int = 30,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Serve until SIGTERM, SIGINT or SIGHUP, then let the requests in
    progress finish (each within request_timeout); the socket goes with the
    daemon. Raises SocketError (nothing served) when it can't listen."""
    listener = bind_socket(socket_path, mode=socket_mode, group=socket_group)
    bound_inode = os.stat(socket_path).st_ino
    try:
        server = FixedPoolServer(
            application_factory(),
            listener,
            workers=workers or default_workers(),
            request_timeout=request_timeout,
        )
        logger.info(
            "serving on %s (pid %s, %s children, %s s per request)",
            socket_path,
            os.getpid(),
            server.workers,
            request_timeout,
        )
        if on_ready is not None:
            on_ready()
        server.run()
    finally:
        listener.close()
        remove_if_ours(socket_path, bound_inode)
    logger.info("stopped (pid %s)", os.getpid())
