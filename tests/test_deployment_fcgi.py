"""The FastCGI daemon (manage.py runfcgi) and its runner without systemd
(bin/start.sh, through start-stop-daemon) as the service user of a real
installation: start, restart, stop, SIGTERM, stale and live sockets."""

import grp
import os
import pwd
import signal
import socket
import stat
import struct
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from support import deployment, slow_fcgi
from support.waiting import wait_until

pytestmark = [pytest.mark.root, pytest.mark.slow]

FCGI_BEGIN_REQUEST, FCGI_END_REQUEST, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT = 1, 3, 4, 5, 6
FCGI_RESPONDER = 1


@pytest.fixture(scope="module")
def installed():
    installation = deployment.create()
    try:
        result = installation.install()
        assert result.returncode == 0, result.stdout + result.stderr
        yield installation
    finally:
        deployment.destroy(installation)


@pytest.fixture
def stopped(installed):
    """The daemon is not running before and after the test."""
    installed.stop_daemon()
    yield installed
    installed.stop_daemon()


def _record(kind, content=b""):
    return struct.pack("!BBHHBx", 1, kind, 1, len(content), 0) + content


def _pair(name, value):
    name, value = name.encode(), value.encode()
    sizes = b"".join(
        bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)
        for n in (len(name), len(value))
    )
    return sizes + name + value


def fcgi_send(socket_path, path, **extra):
    """A connection that has sent one GET over FastCGI, as the web server
    sends it (flup's own client predates Python 3); extra: more params."""
    params = {
        "REQUEST_METHOD": "GET", "SCRIPT_NAME": "/backup", "PATH_INFO": path,
        "QUERY_STRING": "", "SERVER_NAME": "localhost", "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "localhost", "HTTPS": "on", **extra,
    }  # fmt: skip
    connection = socket.socket(socket.AF_UNIX)
    connection.settimeout(30)
    connection.connect(str(socket_path))
    connection.sendall(
        _record(FCGI_BEGIN_REQUEST, struct.pack("!HB5x", FCGI_RESPONDER, 0))
        + _record(FCGI_PARAMS, b"".join(_pair(k, v) for k, v in params.items()))
        + _record(FCGI_PARAMS)
        + _record(FCGI_STDIN)
    )
    return connection


def fcgi_get(socket_path, path, **extra):
    """(status, body) of one GET over FastCGI."""
    with fcgi_send(socket_path, path, **extra) as connection:
        return fcgi_answer(connection)


def fcgi_answer(connection):
    """(status, body) of the answer on a connection that sent a request."""
    stream = connection.makefile("rb")
    output = b""
    while True:
        _, kind, _, length, padding = struct.unpack("!BBHHBx", stream.read(8))
        content = stream.read(length + padding)[:length]
        if kind == FCGI_STDOUT:
            output += content
        elif kind == FCGI_END_REQUEST:
            break
    head, _, body = output.partition(b"\r\n\r\n")
    headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
    return headers.get("Status", "200 OK"), body.decode()


def gone(pid):
    """Exited (a zombie counts: this machine's init does not reap orphans)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"


def test_start_serves_on_a_socket_only_the_web_server_reaches(stopped):
    started = stopped.start_daemon()
    assert started.returncode == 0, started.stderr
    pid = stopped.daemon_pid()
    assert f"(pid {pid})" in started.stdout
    assert not gone(pid)
    assert os.stat(f"/proc/{pid}").st_uid == pwd.getpwnam(stopped.user).pw_uid
    info = os.stat(stopped.socket)
    assert stat.S_ISSOCK(info.st_mode)
    assert stat.S_IMODE(info.st_mode) == 0o660
    assert info.st_gid == grp.getgrnam("www-data").gr_gid
    assert fcgi_get(stopped.socket, "/ping/") == ("200 OK", "pong")
    # The web server's user can connect; any other account cannot.
    for user, allowed in (("www-data", True), ("nobody", False)):
        probe = subprocess.run(
            [
                "runuser", "-u", user, "--", "/usr/bin/python3", "-c",
                "import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])",
                str(stopped.socket),
            ],
            capture_output=True,
            text=True,
        )  # fmt: skip
        assert (probe.returncode == 0) is allowed, (user, probe.stderr)


def test_start_sh_restarts_cleanly(stopped):
    assert stopped.start_daemon().returncode == 0
    first = stopped.daemon_pid()
    restarted = stopped.start_daemon()
    assert restarted.returncode == 0, restarted.stderr
    second = stopped.daemon_pid()
    assert second != first
    wait_until(lambda: gone(first), "the first daemon to exit")
    assert not gone(second)
    assert fcgi_get(stopped.socket, "/ping/") == ("200 OK", "pong")


def test_sigterm_stops_and_removes_the_socket(stopped):
    assert stopped.start_daemon().returncode == 0
    pid = stopped.daemon_pid()
    os.kill(pid, signal.SIGTERM)
    wait_until(lambda: gone(pid), "the daemon to exit")
    assert not stopped.socket.exists()
    assert "stopped (pid" in stopped.fcgi_log.read_text()
    # The pidfile left behind is the runner's, and the next start replaces it.
    restarted = stopped.start_daemon()
    assert restarted.returncode == 0, restarted.stderr
    assert stopped.daemon_pid() != pid
    assert fcgi_get(stopped.socket, "/ping/") == ("200 OK", "pong")


def test_a_second_daemon_started_by_hand_is_refused_while_one_runs(stopped):
    assert stopped.start_daemon().returncode == 0
    pid = stopped.daemon_pid()
    second = stopped.manage("runfcgi")
    assert second.returncode != 0
    assert f"another server is listening on {stopped.socket}" in second.stderr
    assert stopped.daemon_pid() == pid
    assert not gone(pid)
    assert fcgi_get(stopped.socket, "/ping/") == ("200 OK", "pong")


def test_stop_command(stopped):
    assert stopped.start_daemon().returncode == 0
    pid = stopped.daemon_pid()
    assert stopped.stop_daemon().stdout.strip() == "stopped"
    # start-stop-daemon stops waiting once the process no longer matches
    # (its executable is released as it exits), a moment before it is gone.
    wait_until(lambda: gone(pid), "the daemon to exit")
    assert not stopped.socket.exists()
    assert not stopped.pidfile.exists()
    assert stopped.stop_daemon().stdout.strip() == "not running"


def test_stale_socket_and_pidfile_are_replaced(stopped):
    # What a killed daemon leaves: a socket nobody listens on, a pidfile
    # nobody holds (with a pid that may since belong to anything).
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(stopped.socket))
    dead.close()
    stopped.pidfile.write_text("1\n")
    account = pwd.getpwnam(stopped.user)
    for leftover in (stopped.socket, stopped.pidfile):
        os.chown(leftover, account.pw_uid, account.pw_gid)
    started = stopped.start_daemon()
    assert started.returncode == 0, started.stderr
    assert stopped.daemon_pid() != 1
    assert fcgi_get(stopped.socket, "/ping/") == ("200 OK", "pong")
    assert "removing stale socket" in stopped.fcgi_log.read_text()


def test_a_socket_that_answers_is_refused(stopped):
    # Another server of the same account, started by hand with another pidfile.
    other = socket.socket(socket.AF_UNIX)
    other.bind(str(stopped.socket))
    other.listen()
    account = pwd.getpwnam(stopped.user)
    os.chown(stopped.socket, account.pw_uid, account.pw_gid)
    try:
        refused = stopped.start_daemon()
        assert refused.returncode != 0
        assert f"another server is listening on {stopped.socket}" in refused.stderr
        # Left alone: still there, still answering.
        probe = socket.socket(socket.AF_UNIX)
        probe.connect(str(stopped.socket))
        probe.close()
        # The daemon that could not listen does not stay.
        wait_until(lambda: gone(stopped.daemon_pid()), "the refused daemon to exit")
    finally:
        other.close()
        stopped.socket.unlink()


def test_a_daemon_that_fails_before_serving_tells_start_sh_why_at_once(stopped):
    refused = stopped.start_daemon("--workers", "0")
    assert refused.returncode != 0
    assert "argument --workers: invalid _positive value: '0'" in refused.stderr
    # Told through ERRNO=, not found out by start-stop-daemon's 60 s timeout.
    assert "program failed to initialize" in refused.stderr
    assert "timed out" not in refused.stderr
    wait_until(lambda: gone(stopped.daemon_pid()), "the refused daemon to exit")
    assert not stopped.socket.exists()


def test_a_file_in_the_way_is_refused(stopped):
    stopped.socket.write_text("not a socket")
    try:
        refused = stopped.start_daemon()
        assert refused.returncode != 0
        assert "exists and is not a socket" in refused.stderr
        assert stopped.socket.read_text() == "not a socket"
    finally:
        stopped.socket.unlink()


def test_refuses_to_serve_as_root(stopped):
    refused = stopped.manage("runfcgi", as_root=True)
    assert refused.returncode != 0
    assert "refusing to serve as root" in refused.stderr
    assert not stopped.socket.exists()
    by_start_sh = subprocess.run(
        [str(deployment.BIN / "start.sh")], env=stopped.env(), capture_output=True, text=True
    )
    assert by_start_sh.returncode == 2
    assert "refusing to run as root" in by_start_sh.stderr
    assert not stopped.socket.exists()
    assert not stopped.pidfile.exists()


def test_a_daemon_that_ignores_sigterm_is_killed_after_the_grace_period_and_we_say_so(stopped):
    """What a daemon whose children are all stuck in long requests looks
    like from outside: its pid is in the pidfile and it doesn't exit on
    SIGTERM (the virtualenv's Python as the service user, as start.sh's
    start-stop-daemon matches it)."""
    holder = subprocess.Popen(
        [
            "runuser", "-u", stopped.user, "--", str(deployment.PYTHON), "-c",
            "import os, signal, sys, time\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "with open(sys.argv[1], 'w') as pidfile:\n"
            "    pidfile.write(f'{os.getpid()}\\n')\n"
            "print('holding', flush=True)\n"
            "time.sleep(600)\n",
            str(stopped.pidfile),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "holding"
        result = stopped.start_daemon("--stop", FCGI_STOP_SECONDS="1")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "killed"
        assert "still busy 1 s after SIGTERM: killed it (SIGKILL)" in result.stderr
        # runuser reports its child's death by SIGKILL as 128 + 9.
        assert holder.wait(timeout=30) == 128 + signal.SIGKILL
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        holder.stdout.close()


def test_a_grace_period_that_is_not_a_number_is_refused(stopped):
    assert stopped.start_daemon().returncode == 0
    pid = stopped.daemon_pid()
    refused = stopped.start_daemon(FCGI_STOP_SECONDS="1; rm -rf /")
    assert refused.returncode == 2
    assert "FCGI_STOP_SECONDS must be a whole number" in refused.stderr
    assert stopped.daemon_pid() == pid
    assert fcgi_get(stopped.socket, "/ping/") == ("200 OK", "pong")


def children_of(pid):
    return [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and _parent(entry) == pid and not gone(int(entry.name))
    ]


def _parent(entry):
    try:
        return int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def test_the_daemon_serves_with_several_processes(stopped):
    started = stopped.as_service_user(str(deployment.REPO / "bin" / "start.sh"), "--workers", "3")
    assert started.returncode == 0, started.stderr
    pid = stopped.daemon_pid()
    wait_until(lambda: len(children_of(pid)) == 3, "three children")
    account = pwd.getpwnam(stopped.user).pw_uid
    assert all(os.stat(f"/proc/{child}").st_uid == account for child in children_of(pid))
    # Four times as many at once as there are children: they wait, none is refused.
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda _: fcgi_get(stopped.socket, "/ping/"), range(12)))
    assert answers == [("200 OK", "pong")] * 12
    # A child that exits is replaced.
    os.kill(children_of(pid)[0], signal.SIGKILL)
    wait_until(lambda: len(children_of(pid)) == 3, "a replacement child")
    assert fcgi_get(stopped.socket, "/ping/") == ("200 OK", "pong")


@pytest.fixture
def slow_daemon(tmp_path):
    """support.slow_fcgi's daemon: start(workers, request_timeout)."""
    started = []

    def start(workers, request_timeout):
        directory = tmp_path / f"slow{len(started)}"
        directory.mkdir()
        daemon = slow_fcgi.start(directory, workers=workers, request_timeout=request_timeout)
        started.append(daemon)
        wait_until(lambda: len(children_of(daemon.process.pid)) == workers, "its children")
        return daemon

    yield start
    for daemon in started:
        slow_fcgi.stop(daemon)


def test_a_request_past_the_time_limit_is_cut_off_in_the_backend(slow_daemon):
    daemon = slow_daemon(workers=1, request_timeout=1)
    with pytest.raises((ConnectionError, struct.error)):
        fcgi_get(daemon.socket, "/sleep/600")
    assert daemon.entries() == ["started /sleep/600"]
    wait_until(
        lambda: "a request ran longer than 1 s: stopped its process" in daemon.log.read_text(),
        "the daemon to say why the child died",
    )
    # The one child was replaced at once: the daemon still serves.
    assert fcgi_get(daemon.socket, "/sleep/0")[0] == "200 OK"
    assert daemon.entries()[1:] == ["started /sleep/0", "finished /sleep/0"]


def _received(seconds_ago):
    """X-Request-Start as the Apache site sets it."""
    return {"HTTP_X_REQUEST_START": f"t={int((time.time() - seconds_ago) * 1_000_000)}"}


def test_the_time_limit_counts_from_when_the_web_server_received_the_request(slow_daemon):
    daemon = slow_daemon(workers=1, request_timeout=30)
    # Received 29 s ago (it waited in the queue): one second left, not thirty.
    with pytest.raises((ConnectionError, struct.error)):
        fcgi_get(daemon.socket, "/sleep/600", **_received(29))
    assert daemon.entries() == ["started /sleep/600"]
    # Received longer ago than the limit: the web server has already
    # answered 504, so it isn't started at all.
    assert fcgi_get(daemon.socket, "/late/0", **_received(31))[0] == "504 Gateway Timeout"
    # The same from nginx (seconds), and a forged or broken value changes nothing.
    late = {"HTTP_X_REQUEST_START": f"t={time.time() - 31:.3f}"}
    assert fcgi_get(daemon.socket, "/late/0", **late)[0] == "504 Gateway Timeout"
    for forged in ("t=-5", "t=", "1", "t=1e9", "t=12345678901234567890", "t=1.2.3"):
        answer = fcgi_get(daemon.socket, "/on-time/0", HTTP_X_REQUEST_START=forged)
        assert answer[0] == "200 OK", forged
    assert daemon.entries()[1:] == ["started /on-time/0", "finished /on-time/0"] * 6


def test_a_request_the_web_server_gave_up_on_is_never_run(slow_daemon):
    daemon = slow_daemon(workers=1, request_timeout=30)
    with ThreadPoolExecutor(max_workers=1) as pool:
        busy = pool.submit(fcgi_get, daemon.socket, "/hold/30")
        wait_until(lambda: daemon.entries() == ["started /hold/30"], "the only child to be busy")
        # Waits in the backlog behind /hold/30; its client leaves, as Apache
        # does when its timeout passes.
        fcgi_send(daemon.socket, "/abandoned/0").close()
        # One that merely stopped sending still waits for its answer.
        with fcgi_send(daemon.socket, "/half-closed/0") as half_closed:
            half_closed.shutdown(socket.SHUT_WR)
            daemon.release()
            assert fcgi_answer(half_closed)[0] == "200 OK"
        assert busy.result()[0] == "200 OK"
    assert daemon.entries() == [
        "started /hold/30", "finished /hold/30",
        "started /half-closed/0", "finished /half-closed/0",
    ]  # fmt: skip
    assert "dropped a request the web server had already given up on" in daemon.log.read_text()


def test_sigterm_lets_the_request_in_progress_finish(slow_daemon):
    daemon = slow_daemon(workers=2, request_timeout=30)
    pid = daemon.process.pid
    with ThreadPoolExecutor(max_workers=1) as pool:
        busy = pool.submit(fcgi_get, daemon.socket, "/hold/30")
        wait_until(lambda: daemon.entries() == ["started /hold/30"], "a busy child")
        os.kill(pid, signal.SIGTERM)
        # It stops only once the request in progress is done: the idle child
        # has gone, the busy one and the parent wait for it.
        wait_until(lambda: len(children_of(pid)) == 1, "the idle child to exit")
        assert not gone(pid)
        assert daemon.socket.exists()
        daemon.release()
        assert busy.result()[0] == "200 OK"
    wait_until(lambda: gone(pid), "the daemon to exit")
    assert not daemon.socket.exists()
    assert daemon.entries() == ["started /hold/30", "finished /hold/30"]
