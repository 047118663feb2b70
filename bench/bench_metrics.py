"""/metrics with 1,000 volumes of stored data: render time and privileged
calls per scrape.

    .venv/bin/python bench/bench_metrics.py

A throwaway database and RRD directory, no wrappers at all (a call would
fail): 1,000 volumes, each with a stored scan of three computers (a third
of them stale), an hour of usage in its RRD file and a few operations, and
a pool with six hours of history. Targets: under 200 ms per scrape, no
privileged call.
"""

import datetime
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backup.settings.test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from backup.discovery.scans import store  # noqa: E402
from backup.operations.models import Operation  # noqa: E402
from backup.privileged.client import Counter  # noqa: E402
from backup.stats import rrd  # noqa: E402
from backup.volumes.models import Volume  # noqa: E402

VOLUMES = 1000
REPEAT = 15
GIB = 1024**3
DAY = datetime.timedelta(days=1)


def wire(when):
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def stored_data(now):
    users = get_user_model()
    made = users.objects.bulk_create(users(username=f"bench{n:04d}") for n in range(VOLUMES))
    volumes = Volume.objects.bulk_create(
        Volume(owner=user, account=user.username, size_gib=50, filesystem="btrfs") for user in made
    )
    epoch = int(now.timestamp())
    for index, volume in enumerate(volumes):
        age = 12 * DAY if index % 3 == 0 else DAY
        sources = [
            {
                "machine": f"pc-{volume.account}-{n}",
                "format": fmt,
                "path": f"{fmt}-{n}",
                "last_backup": wire(now - age - n * datetime.timedelta(hours=1)),
                "backups": 10,
                "state": "complete",
                "size_bytes": None,
            }
            for n, fmt in enumerate(("time_machine", "restic", "windows_file_history"))
        ]
        report = {"user": volume.account, "scanned_at": wire(now), "sources": sources}
        store(volume, report | {"unrecognised": []})
        for when in range(epoch - 3600, epoch, 300):
            values = {"used": index * 1000 + when % 7, "inodes": 100, "size": 50 * GIB}
            rrd.record(rrd.space_file(volume.account), rrd.SPACE, when, values)
    Operation.objects.bulk_create(
        Operation(
            kind=kind,
            state=Operation.State.FAILED if index % 10 == 0 else Operation.State.SUCCEEDED,
            owner_name=volume.account,
            actor_name=volume.account,
        )
        for index, volume in enumerate(volumes)
        for kind in (Operation.Kind.CREATE, Operation.Kind.ADD_SPACE, Operation.Kind.MOUNT)
    )
    for when in range(epoch - 6 * 3600, epoch, 300):
        used = 10_000 * GIB + (when - epoch) * 1000
        values = {"size": 100_000 * GIB, "allocated": 50_000 * GIB, "used": used, "free": 1}
        rrd.record(rrd.pool_file(), rrd.POOL, when, values)


def main():
    setup_test_environment()
    work = Path(tempfile.mkdtemp())
    settings.DATABASES["default"]["NAME"] = str(work / "bench.sqlite3")
    settings.RRD_DIRECTORY = work / "rrd"
    settings.WRAPPERS_PATH = work / "no-wrappers"
    try:
        measure()
    finally:
        shutil.rmtree(work)


def measure():
    call_command("migrate", verbosity=0)
    stored_data(timezone.now())
    client = Client(REMOTE_ADDR="127.0.0.1")
    durations, cpu, calls = [], [], []
    for _ in range(REPEAT):
        before = Counter.calls
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get("/metrics")
        durations.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        calls.append(Counter.calls - before)
        assert response.status_code == 200, response.status_code
    families = list(text_string_to_metric_families(response.content.decode()))
    series = sum(len(family.samples) for family in families)
    used = next(f for f in families if f.name == "backup_volume_used_bytes")
    assert len(used.samples) == VOLUMES, len(used.samples)
    heading = ("volumes", "render ms", "cpu ms", "max ms", "series", "calls")
    print("{:>8} {:>10} {:>7} {:>7} {:>7} {:>6}".format(*heading))
    print(
        f"{VOLUMES:>8} {statistics.median(durations):>10.1f} {statistics.median(cpu):>7.1f}"
        f" {max(durations):>7.1f} {series:>7} {max(calls):>6}"
    )
    print(
        f"median of {REPEAT} scrapes through Django's test client (cpu: this process's"
        " CPU time, which other load on the machine does not inflate);"
        " targets: under 200 ms, 0 calls"
    )


if __name__ == "__main__":
    main()
