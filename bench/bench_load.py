"""The portal under load through the path production runs: HTTPS to a
private Apache serving deploy/apache/backupmanagement.conf, mod_proxy_fcgi to
the FastCGI daemon started by bin/start.sh as the service user of a real
bin/install, the dashboard showing a real mounted volume (created through
the portal and the task worker, with sudo and the wrappers).

    sudo .venv/bin/python bench/bench_load.py [--workers N] [--concurrency 1,10,50,100,200]

The load tool is ApacheBench (`ab`, apache2-utils), with keep-alive like a
browser. For 1, 10, 50, 100 and 200 concurrent clients on the dashboard and on
ping it prints, first with a signed-in employee's session cookie (what a
browser sends) and then without one (a sign-in per request), p50/p95,
requests/s and refused requests (any answer but 200,
or a connection error), and how long the first request after each burst
waits. Targets: no refused request at 200 concurrent clients (they wait,
they are not dropped); throughput that grows with cores (compare
--workers 1 with the default, two per core plus one).
"""

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from base64 import b64encode
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from support import apache, deployment  # noqa: E402

# A generated employee: a fixed name ("alice") collided with the demo's
# account when both ran on one machine.
USER = f"load{secrets.token_hex(4)}"
PASSWORD = secrets.token_urlsafe(16)
PATHS = ("/backup/ping/", "/backup/")
CONCURRENCY = (1, 10, 50, 100, 200)
VOLUME_TIMEOUT_SECONDS = 300


class Client:
    """Just enough of a browser to create a volume: basic auth and cookies."""

    def __init__(self, server):
        self.server = server
        self.cookies = {}
        self.auth = "Basic " + b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    def request(self, method, path, body=None, headers=None):
        connection = http.client.HTTPSConnection(
            "localhost", self.server.port, context=self.server.ssl_context(), timeout=60
        )
        sent = {"Authorization": self.auth, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
            return response.status, response.getheader("Location"), response.read().decode()
        finally:
            connection.close()


def create_volume(server, installation):
    """The employee's volume, made as an employee makes it: a POST, then the
    worker. Returns the client, signed in (its session cookie)."""
    client = Client(server)
    _, _, page = client.request("GET", "/backup/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    origin = f"https://localhost:{server.port}"
    status, location, _ = client.request(
        "POST",
        "/backup/volume/create/",
        body=urlencode({"csrfmiddlewaretoken": token}),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": origin,
            "Referer": f"{origin}/backup/",
        },
    )
    if status != 302 or not location.startswith("/backup/operations/"):
        raise RuntimeError(f"creating the volume: HTTP {status}")
    worker = installation.start_worker()
    try:
        deadline = time.monotonic() + VOLUME_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            state = json.loads(client.request("GET", f"{location}status/")[2])
            if not state["active"]:
                break
            time.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    if state["state"] != "succeeded":
        raise RuntimeError(f"creating the volume: {state}")
    return client


def run_ab(server, path, concurrency, requests, cookie=None):
    """ApacheBench's figures for one run: requests, p50, p95, rate, refused.
    ``cookie`` ("name=value") is sent with every request, as a browser does."""
    result = subprocess.run(
        [
            shutil.which("ab"), "-q", "-k", "-r", "-l",
            "-n", str(requests), "-c", str(concurrency), "-s", "120",
            *(["-C", cookie] if cookie else []),
            "-A", f"{USER}:{PASSWORD}", server.url(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    out = result.stdout

    def number(pattern, default=None):
        found = re.search(pattern, out, flags=re.MULTILINE)
        if found is None:
            if default is None:
                raise RuntimeError(f"ab: no {pattern!r} in its output: {out}{result.stderr}")
            return default
        return float(found.group(1))

    completed = int(number(r"^Complete requests:\s+(\d+)"))
    failed = int(number(r"^Failed requests:\s+(\d+)"))
    non_2xx = int(number(r"^Non-2xx responses:\s+(\d+)", 0))
    return {
        "requests": requests,
        # Requests ab never saw completed (connection refused or reset) count too.
        "refused": failed + non_2xx + (requests - completed),
        "p50": number(r"^\s+50%\s+(\d+)"),
        "p95": number(r"^\s+95%\s+(\d+)"),
        "rate": number(r"^Requests per second:\s+([\d.]+)"),
    }


def first_request_ms(server):
    """How long one request waits right after a burst: the daemon's recovery."""
    client = Client(server)
    started = time.perf_counter()
    status, _, _ = client.request("GET", "/backup/ping/")
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed if status == 200 else float("inf")


def setup(workers):
    installation = deployment.create()
    server = None
    try:
        installed = installation.install()
        if installed.returncode != 0:
            raise RuntimeError(f"bin/install failed: {installed.stdout}{installed.stderr}")
        with installation.config.open("a") as config:
            config.write("default_disk_size = 1\n")
        extra = ["--workers", str(workers)] if workers else []
        started = installation.as_service_user(str(REPO / "bin" / "start.sh"), *extra)
        if started.returncode != 0:
            raise RuntimeError(f"bin/start.sh failed: {started.stderr}")
        # bcrypt at its lowest cost: Apache checks the password on every
        # request, and this measures the portal, not bcrypt.
        server = apache.start_for(installation, {USER: PASSWORD}, bcrypt_cost=4)
        signed_in = create_volume(server, installation)
        cookie = "; ".join(f"{name}={value}" for name, value in signed_in.cookies.items())
        return installation, server, cookie
    except BaseException:
        if server is not None:
            apache.stop(server)
        deployment.destroy(installation)
        raise


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, help="runfcgi --workers (default: its own)")
    parser.add_argument(
        "--concurrency",
        default=",".join(map(str, CONCURRENCY)),
        help="comma-separated client counts (default: %(default)s)",
    )
    options = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: it installs the portal into a temporary prefix")
    if shutil.which("ab") is None:
        sys.exit("ab (apache2-utils) is missing: run bin/setup")
    levels = [int(level) for level in options.concurrency.split(",")]
    installation, server, cookie = setup(options.workers)
    try:
        children = len(
            [
                entry
                for entry in Path("/proc").iterdir()
                if entry.name.isdigit() and _parent(entry) == installation.daemon_pid()
            ]
        )
        print(
            f"daemon: 1 process + {children} children on {len(os.sched_getaffinity(0))} cores; "
            "Apache mpm_event, TLS, basic auth; ab -k (keep-alive)"
        )
        # First what browsers get (the session cookie of a signed-in
        # employee), then the same without it: every request a new sign-in
        # (the SSO user is created or found, a session written).
        print(
            f"{'path':<16}{'session':<9}{'clients':>8}{'requests':>9}{'p50 ms':>8}"
            f"{'p95 ms':>8}{'req/s':>8}{'refused':>8}{'next ms':>8}  target"
        )
        for path in PATHS:
            for session, sent in (("cookie", cookie), ("sign-in", None)):
                run_ab(server, path, 4, 40, cookie=sent)  # warm every child up
                for level in levels:
                    figures = run_ab(server, path, level, max(200, 5 * level), cookie=sent)
                    after = first_request_ms(server)
                    target = "0 refused at 200" if level == 200 else "0 refused"
                    met = "met" if figures["refused"] == 0 else "NOT MET"
                    print(
                        f"{path:<16}{session:<9}{level:>8}{figures['requests']:>9}"
                        f"{figures['p50']:>8.0f}{figures['p95']:>8.0f}{figures['rate']:>8.1f}"
                        f"{figures['refused']:>8}{after:>8.0f}  {target}: {met}",
                        flush=True,
                    )
    finally:
        apache.stop(server)
        deployment.destroy(installation)


def _parent(entry):
    try:
        return int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (FileNotFoundError, IndexError, ValueError):
        return None


if __name__ == "__main__":
    main()
