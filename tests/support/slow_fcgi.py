"""The FastCGI daemon (backup.deployment.fcgi.serve) around a WSGI
application whose requests take as long as their path's last part says
(/busy/2: two seconds), or, under /hold/, until the test releases them
(SlowDaemon.release()), and that notes each request it starts and finishes:
what stuck requests look like to the daemon, without Django."""

import subprocess
from dataclasses import dataclass
from pathlib import Path

from support.waiting import wait_until

REPO = Path(__file__).resolve().parent.parent.parent
PYTHON = REPO / ".venv" / "bin" / "python"

APPLICATION = """
import logging, os, sys, time
from backup.deployment import fcgi

socket_path, journal, workers, timeout, group = sys.argv[1:]
logging.basicConfig(level=logging.INFO, stream=sys.stderr)

def note(line):
    with open(journal, "a") as out:
        out.write(line + "\\n")

def application(environ, start_response):
    path = environ["PATH_INFO"]
    note(f"started {path}")
    seconds = float(path.strip("/").rpartition("/")[2] or 0)
    if path.startswith("/hold/"):
        # Until released (the file appears), at most that many seconds.
        deadline = time.monotonic() + seconds
        while not os.path.exists(journal + ".release") and time.monotonic() < deadline:
            time.sleep(0.01)
    else:
        time.sleep(seconds)
    note(f"finished {path}")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]

fcgi.serve(
    lambda: application,
    socket_path=socket_path,
    socket_mode=0o660 if group else 0o600,
    socket_group=group or None,
    workers=int(workers),
    request_timeout=int(timeout),
)
"""


@dataclass
class SlowDaemon:
    directory: Path
    process: subprocess.Popen = None

    @property
    def socket(self):
        return self.directory / "slow.sock"

    @property
    def log(self):
        return self.directory / "slow.log"

    @property
    def journal(self):
        return self.directory / "journal"

    def release(self):
        """Let the requests under /hold/ finish."""
        self.journal.with_name("journal.release").touch()

    def backlog(self):
        """How many connections wait in the socket's listen backlog, not yet
        taken by a child (ss shows it as a listening socket's Recv-Q)."""
        listed = subprocess.run(
            ["ss", "-xlH", "src", str(self.socket)], capture_output=True, text=True, check=True
        ).stdout.split()
        return int(listed[2]) if listed else 0

    def entries(self):
        """What the application started and finished, in order."""
        return self.journal.read_text().splitlines() if self.journal.exists() else []


def start(directory, *, workers, request_timeout, group=None):
    """Serve on directory/slow.sock (group: the web server's, to reach it)."""
    daemon = SlowDaemon(Path(directory))
    daemon.process = subprocess.Popen(
        [
            str(PYTHON), "-c", APPLICATION, str(daemon.socket), str(daemon.journal),
            str(workers), str(request_timeout), group or "",
        ],
        cwd=REPO,
        stderr=daemon.log.open("w"),
    )  # fmt: skip
    # Its log line "serving on" is the daemon's readiness (it follows bind()).
    try:
        wait_until(
            lambda: "serving on" in daemon.log.read_text() or daemon.process.poll() is not None,
            "the slow daemon to start",
        )
    except AssertionError:
        stop(daemon)
        raise
    if daemon.process.poll() is not None:
        raise RuntimeError(f"the slow daemon did not start: {daemon.log.read_text()}")
    return daemon


def stop(daemon):
    if daemon.process.poll() is None:
        daemon.process.terminate()
        try:
            daemon.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.process.kill()
            daemon.process.wait()
