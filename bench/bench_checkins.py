"""1,000 computers checking in through the path production runs: HTTPS to
a private Apache serving deploy/apache/backupmanagement.conf (the check-in
path open without sign-in), mod_proxy_fcgi to the FastCGI daemon started by
bin/start.sh as the service user of a real bin/install.

    sudo .venv/bin/python bench/bench_checkins.py [--computers 1000] [--seconds 60]

Each computer has its own check-in address (made in the installation's
database by its own manage.py) and its own TLS connection, as a laptop
has. Two runs:

- spread: each computer posts its success, with a 2 KiB log, at a random
  instant within the minute (borgmatic or a scheduled task on 1,000
  laptops whose clocks differ);
- burst: all of them at once, 100 at a time (1,000 cron jobs at 0 * * * *).

Printed: p50/p95/max latency, requests/s, refused (any answer but 200, or
a connection error), that every check-in was recorded, and that no answer
set a cookie. Target: 0 refused, p95 under 1 s in the spread run.
"""

import argparse
import http.client
import os
import random
import shutil
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from support import apache, deployment  # noqa: E402

LOG = ("restic: snapshot 1a2b3c4d saved\n" * 64)[:2048].encode()
MAKE = """
from backup.checkins import tokens
from backup.checkins.models import CheckIn
from django.contrib.auth import get_user_model
owner, _ = get_user_model().objects.get_or_create(username="benchcheckins")
made = [tokens.new() for _ in range({count})]
CheckIn.objects.bulk_create(
    CheckIn(owner=owner, name=f"computer {{n}}", token_hash=tokens.digest(token))
    for n, token in enumerate(made)
)
print("\\n".join(made))
"""
COUNT = """
from backup.checkins.models import CheckIn
from django.db.models import Sum
print(CheckIn.objects.aggregate(total=Sum("check_ins"))["total"] or 0)
print(CheckIn.objects.filter(last_success_at__isnull=False).count())
"""


def ping(server, path):
    """(seconds, status or error, whether a cookie was set)."""
    started = time.perf_counter()
    connection = http.client.HTTPSConnection(
        "localhost", server.port, context=server.ssl_context(), timeout=60
    )
    try:
        connection.request("POST", path, body=LOG, headers={"Content-Type": "text/plain"})
        response = connection.getresponse()
        response.read()
        outcome, cookie = response.status, response.getheader("Set-Cookie") is not None
    except OSError as error:
        outcome, cookie = type(error).__name__, False
    finally:
        connection.close()
    return time.perf_counter() - started, outcome, cookie


def spread(server, tokens, seconds):
    """Each token once, at a random instant within ``seconds``."""
    start = time.monotonic() + 1
    plan = sorted((start + random.uniform(0, seconds), token) for token in tokens)
    results, lock = [], threading.Lock()

    def at(when, token):
        time.sleep(max(0.0, when - time.monotonic()))
        result = ping(server, f"/backup/ping/{token}")
        with lock:
            results.append(result)

    # Enough threads that a slow answer never delays the next computer's start.
    with ThreadPoolExecutor(max_workers=200) as pool:
        for when, token in plan:
            pool.submit(at, when, token)
    return results, time.monotonic() - start


def burst(server, tokens, concurrency):
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(lambda token: ping(server, f"/backup/ping/{token}/0"), tokens))
    return results, time.monotonic() - start


def report(name, results, elapsed, target):
    times = sorted(seconds * 1000 for seconds, _, _ in results)
    refused = [outcome for _, outcome, _ in results if outcome != 200]
    cookies = sum(1 for _, _, cookie in results if cookie)
    p95 = times[int(0.95 * (len(times) - 1))]
    met = "met" if not refused and p95 < target else "NOT MET"
    print(
        f"{name:<8}{len(results):>9}{statistics.median(times):>9.0f}{p95:>9.0f}{times[-1]:>9.0f}"
        f"{len(results) / elapsed:>9.1f}{len(refused):>9}{cookies:>9}  "
        f"0 refused, p95 < {target:.0f} ms: {met}",
        flush=True,
    )
    if refused:
        kinds = {str(outcome): refused.count(outcome) for outcome in set(refused)}
        print(f"        refused: {kinds}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--computers", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=100, help="for the burst run")
    options = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: it installs the portal into a temporary prefix")
    if shutil.which("apache2") is None:
        sys.exit("apache2 is missing: run bin/setup")
    installation = deployment.create()
    server = None
    try:
        installed = installation.install()
        if installed.returncode != 0:
            raise RuntimeError(f"bin/install failed: {installed.stdout}{installed.stderr}")
        started = installation.start_daemon()
        if started.returncode != 0:
            raise RuntimeError(f"bin/start.sh failed: {started.stderr}")
        # Check-ins need no sign-in; Apache's site wants one user file anyway.
        server = apache.start_for(installation, {"benchadmin": "bench-password"}, bcrypt_cost=4)
        made = installation.manage(
            "shell", "--no-imports", "-c", MAKE.format(count=options.computers), timeout=600
        )
        tokens = made.stdout.split()
        if made.returncode != 0 or len(tokens) != options.computers:
            raise RuntimeError(f"making the check-ins failed: {made.stderr[-2000:]}")
        print(
            f"{options.computers} check-in addresses; Apache mpm_event, TLS, a new connection "
            f"per check-in; daemon on {len(os.sched_getaffinity(0))} cores"
        )
        print(
            f"{'run':<8}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'req/s':>9}"
            f"{'refused':>9}{'cookies':>9}  target"
        )
        for token in tokens[:5]:  # warm every daemon child up
            ping(server, f"/backup/ping/{token}/log")
        results, elapsed = spread(server, tokens, options.seconds)
        report("spread", results, elapsed, 1000)
        results, elapsed = burst(server, tokens, options.concurrency)
        report("burst", results, elapsed, 10000)
        counted = installation.manage("shell", "--no-imports", "-c", COUNT).stdout.split()
        expected = 2 * options.computers + min(5, options.computers)
        print(
            f"recorded: {counted[0]} check-ins of {expected} sent, "
            f"{counted[1]} of {options.computers} computers with a success"
        )
    finally:
        if server is not None:
            apache.stop(server)
        deployment.destroy(installation)


if __name__ == "__main__":
    main()
