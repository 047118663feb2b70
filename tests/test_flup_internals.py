"""The FastCGI daemon leans on flup's private internals, guarded here.

flup 1.0.3 is flup's last release, and backup/deployment/fcgi (prefork,
request_limits) subclasses
its preforking server and connection, using names flup never promised
(_spawnChild, _children, _jobClass, _keepGoing, _child, the signal-handler
pair, Connection._sock and .server). This module pins the release and each
of those names and signatures, so that a flup that changes them fails here,
by name, instead of as a daemon that stops serving. It also checks that the
two flup bugs the daemon works around are still there: a flup that fixed
them would let the workarounds go (see backup/deployment/fcgi/prefork.py,
which cites each bug's line in flup's source).
"""

import inspect
from importlib import metadata

from flup.server import fcgi_base, fcgi_fork, preforkserver

from backup.deployment.fcgi import prefork, request_limits

PREFORK = preforkserver.PreforkServer


def parameters(function):
    return list(inspect.signature(function).parameters)


def test_flup_is_the_release_the_daemon_was_written_against():
    assert metadata.version("flup") == "1.0.3", (
        "flup changed: check backup/deployment/fcgi/ against its new internals"
    )


def test_the_server_internals_the_daemon_uses_are_there():
    assert issubclass(prefork.FixedPoolServer, fcgi_fork.WSGIServer)
    assert issubclass(fcgi_fork.WSGIServer, PREFORK)
    assert parameters(PREFORK._spawnChild) == ["self", "sock"]
    assert parameters(PREFORK._child) == ["self", "sock", "parent"]
    assert parameters(PREFORK._installSignalHandlers) == ["self"]
    assert parameters(PREFORK._restoreSignalHandlers) == ["self"]
    # Set by flup's run(), which the daemon replaces; read in each child.
    assert "self._web_server_addrs is None" in inspect.getsource(
        fcgi_fork.WSGIServer._isClientAllowed
    )
    init = inspect.getsource(PREFORK.__init__)
    assert "self._children = {}" in init
    assert "self._jobClass = jobClass" in init
    assert "self._keepGoing = True" in inspect.getsource(PREFORK.run)
    # _child runs one job per accepted connection through _jobClass.
    assert "self._jobClass(clientSock, addr, *self._jobArgs).run()" in inspect.getsource(
        PREFORK._child
    )


def test_the_connection_internals_the_daemon_uses_are_there():
    assert issubclass(request_limits.LimitedConnection, fcgi_base.Connection)
    assert parameters(fcgi_base.Connection.__init__) == [
        "self",
        "sock",
        "addr",
        "server",
        "timeout",
    ]
    init = inspect.getsource(fcgi_base.Connection.__init__)
    assert "self._sock = sock" in init
    assert "self.server = server" in init
    assert parameters(fcgi_base.Connection.run) == ["self"]


def test_the_flup_bugs_the_daemon_works_around_are_still_there():
    run = inspect.getsource(PREFORK.run)
    # Bug 1: a child's state arrives as bytes from recv() but is compared
    # with a str, so every child always counts as available and the spare
    # bookkeeping never grows the pool (hence FixedPoolServer's fixed pool).
    assert "state != '\\x00'" in run
    # Bug 2: the parent waits in select() with no wake-up for signals; on
    # Python 3 (PEP 475) the call is retried after SIGTERM, so the parent
    # stops only when the next request arrives (hence FixedPoolServer.run's own
    # loop, woken through signal.set_wakeup_fd).
    assert "select.select(r, w, [], timeout)" in run
    assert "set_wakeup_fd" not in inspect.getsource(preforkserver)


def test_the_lines_the_workarounds_cite_are_the_bugs():
    """prefork.py cites flup's source by line (flup has no tracker left)."""
    lines = inspect.getsource(preforkserver).splitlines()
    assert "state != '\\x00'" in lines[184 - 1]
    assert "select.select(r, w, [], timeout)" in lines[164 - 1]
    assert "sys.exit(0)" in lines[342 - 1]
    cited = inspect.getsource(prefork)
    for line in (164, 184, 342):
        assert f"flup/server/preforkserver.py line {line}" in cited
