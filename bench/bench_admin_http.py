"""The admin overview at 10,000 volumes, through the path production runs:
HTTPS to a private Apache serving deploy/apache/backupmanagement.conf,
mod_proxy_fcgi to the FastCGI daemon (flup, preforking) started by
bin/start.sh as the service user of a real bin/install, with sudo and the
real wrappers.

    sudo .venv/bin/python bench/bench_admin_http.py [--volumes 10000] [--clients 10]

The volumes are faked at the data layer, as bench/bench_views.py does: a
sparse image per volume in the installation's loop-file pool (what the
inventory wrapper reads; unmounted, so every one counts as a problem and
the opening page has all of them to page through) and the portal's record
of each. The load tool is ApacheBench (ab, keep-alive) as in
bench/bench_load.py, whose helpers this reuses, sending the session cookie
as an admin's browser does. For 10 admins at once it
prints p50/p95, requests/s, refused requests and the page's size beside the
target (p95 under 300 ms), for the opening page and for a deep page of
every volume sorted by size; then the same pages in-process (Django's test
client in the service user's daemon environment): an inventory taken anew,
and one reused.
"""

import argparse
import os
import re
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests"), str(REPO / "bench")]

from bench_load import PASSWORD, USER, Client, run_ab  # noqa: E402

from support import apache, deployment  # noqa: E402

TARGET_P95_MS = 300
PAGES = ("/backup/staff/", "/backup/staff/?show=all&sort=size&order=desc&page=150")
# The same stack answering without the page: the floor the machine's load sets.
FLOOR = "/backup/ping/"

# Run by manage.py shell as the service user: the portal's records of the
# volumes, and the in-process timings.
ADD_RECORDS = """
from django.contrib.auth import get_user_model
from backup.volumes.models import Volume
users = get_user_model()
made = users.objects.bulk_create(users(username=f"bench{{n:05d}}") for n in range({count}))
Volume.objects.bulk_create(
    Volume(owner=user, account=user.username, size_gib=1, filesystem="ext4") for user in made
)
"""
IN_PROCESS = """
import statistics, time
from django.test import Client
from backup.privileged.client import Counter
from backup.staff import inventory
client = Client(REMOTE_USER="{user}", HTTP_HOST="localhost")
for path in {paths!r}:
    path = path.removeprefix("/backup")
    for label, fresh in (("inventory taken anew", True), ("inventory reused", False)):
        samples, calls = [], []
        for _ in range(7):
            if fresh:
                inventory.caches["inventory"].clear()
                inventory._decoded = None
            before, start = Counter.calls, time.perf_counter()
            response = client.get(path, secure=True)
            samples.append((time.perf_counter() - start) * 1000)
            calls.append(Counter.calls - before)
            assert response.status_code == 200, response.status_code
        print(f"{{path}}|{{label}}|{{statistics.median(samples):.0f}}|{{max(calls)}}")
"""


def setup(volumes):
    installation = deployment.create()
    server = None
    try:
        installed = installation.install()
        if installed.returncode != 0:
            raise RuntimeError(f"bin/install failed: {installed.stdout}{installed.stderr}")
        config = installation.config.read_text()
        config, made_admin = re.subn(
            r"^admins = .*$", f'admins = ["{USER}"]', config, flags=re.MULTILINE
        )
        if not made_admin:
            raise RuntimeError(f"{installation.config} has no admins line")
        installation.config.write_text(config)
        pool = installation.prefix / "pool"
        for number in range(volumes):
            with open(pool / f"bench{number:05d}.img", "wb") as image:
                image.truncate(1024**2)
        added = installation.manage("shell", "-c", ADD_RECORDS.format(count=volumes))
        if added.returncode != 0:
            raise RuntimeError(f"adding the volumes' records: {added.stderr}")
        started = installation.as_service_user(str(REPO / "bin" / "start.sh"))
        if started.returncode != 0:
            raise RuntimeError(f"bin/start.sh failed: {started.stderr}")
        # bcrypt at its lowest cost, as bench_load does: this measures the portal.
        server = apache.start_for(installation, {USER: PASSWORD}, bcrypt_cost=4)
        return installation, server
    except BaseException:
        if server is not None:
            apache.stop(server)
        deployment.destroy(installation)
        raise


def page_size(server, path):
    status, _, body = Client(server).request("GET", path)
    if status != 200:
        raise RuntimeError(f"{path}: HTTP {status}")
    rows = max(0, body.count("<tr>") - 1)
    return len(body.encode()), rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volumes", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--requests", type=int, default=400)
    options = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: it installs the portal into a temporary prefix")
    if shutil.which("ab") is None:
        sys.exit("ab (apache2-utils) is missing: run bin/setup")
    installation, server = setup(options.volumes)
    try:
        print(
            f"{options.volumes} volumes (sparse images in the loop-file pool and their"
            " portal records; real wrappers through sudo);"
            f" {options.clients} admins at once, {options.requests} requests per page;"
            " Apache mpm_event, TLS, basic auth, mod_proxy_fcgi, flup preforking; ab -k."
            " Figures are noisy on a shared machine: load average before the runs"
            f" {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores."
        )
        print(
            f"{'page':<58}{'p50 ms':>7}{'p95 ms':>7}{'req/s':>7}{'refused':>8}"
            f"{'HTML KiB':>9}{'rows':>5}  target"
        )
        # Admins' browsers keep their session: without it each request
        # signs in anew (two database writes), shown once for comparison.
        signed_in = Client(server)
        signed_in.request("GET", "/backup/staff/")
        session = f"sessionid={signed_in.cookies['sessionid']}"
        runs = [
            (FLOOR, None, "(floor)"),
            *((path, session, "") for path in PAGES),
            (PAGES[0], None, "(no session)"),
        ]
        for path, cookie, note in runs:
            size, rows = page_size(server, path)
            run_ab(server, path, 2, 20, cookie)  # every child decodes the inventory once
            figures = run_ab(server, path, options.clients, options.requests, cookie)
            met = "met" if figures["p95"] < TARGET_P95_MS and not figures["refused"] else "NOT MET"
            target = note if note == "(floor)" else f"p95 < {TARGET_P95_MS} ms: {met} {note}"
            print(
                f"{path:<58}{figures['p50']:>7.0f}{figures['p95']:>7.0f}{figures['rate']:>7.1f}"
                f"{figures['refused']:>8}{size / 1024:>9.0f}{rows:>5}"
                f"  {target} (load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
        timed = installation.manage(
            "shell", "-c", IN_PROCESS.format(user=USER, paths=PAGES), timeout=600
        )
        if timed.returncode != 0:
            raise RuntimeError(f"in-process timing: {timed.stderr}")
        print("in-process (Django test client, median of 7):")
        for line in timed.stdout.splitlines():
            if line.count("|") != 3:
                continue  # anything else the shell printed
            path, label, median, calls = line.split("|")
            print(f"  {path:<56} {label:<22} {median:>6} ms, {calls} privileged calls")
    finally:
        apache.stop(server)
        deployment.destroy(installation)


if __name__ == "__main__":
    main()
