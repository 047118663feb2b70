"""The second server's report at 1,000 and 10,000 volumes: its size on the
wire, the primary's check of it (wrapperlib/replica_report.parse), the
portal storing it (update_df_stats' step) and reading it back for the admin
page, the dashboard line and /metrics.

    .venv/bin/python bench/bench_replica_report.py

A throwaway database, no wrappers: volumes with three stored snapshots
each, and a report naming every volume. Targets: a 10,000-volume report
well under the primary's 1 MiB bound; storing it within a second (it runs
once an hour, inside a five-minute job); the admin page's and /metrics'
read under 200 ms at 1,000 volumes; the dashboard line a few ms.
"""

import datetime
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "wrappers"), str(REPO / "tests")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backup.settings.test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from backup.replica import metrics, services  # noqa: E402
from backup.snapshots.models import Snapshot, SnapshotSpace  # noqa: E402
from backup.volumes.models import Volume  # noqa: E402
from wrapperlib import replica_report  # noqa: E402

REPEAT = 7
HOUR = datetime.timedelta(hours=1)


def name_of(when):
    return when.strftime("@GMT-%Y.%m.%d-%H.%M.%S")


def wire(when):
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def report_for(accounts, now):
    newest = name_of(now - HOUR)
    return {
        "checked_at": wire(now),
        "reachable": True,
        "error": None,
        "pool": {"size_bytes": 8 << 40, "free_bytes": 3 << 40},
        "verify": {"checked_at": wire(now), "failed": []},
        "volumes": {
            account: {"newest": newest, "count": 25, "error": None} for account in accounts
        },
    }


def stored_data(count, now):
    users = get_user_model()
    made = users.objects.bulk_create(users(username=f"rb{n:05d}") for n in range(count))
    Volume.objects.bulk_create(
        Volume(owner=user, account=user.username, size_gib=50, filesystem="btrfs") for user in made
    )
    Snapshot.objects.bulk_create(
        (
            Snapshot(
                account=user.username,
                name=name_of(now - hours * HOUR),
                taken_at=now - hours * HOUR,
                used_bytes=0,
                size_bytes=0,
            )
            for user in made
            for hours in (1, 2, 3)
        ),
        batch_size=2000,
    )
    SnapshotSpace.objects.bulk_create(
        SnapshotSpace(account=user.username, supported=True, listed_at=now) for user in made
    )
    return [user.username for user in made]


def timed(function, repeat=REPEAT):
    durations = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        durations.append((time.perf_counter() - start) * 1000)
    return statistics.median(durations)


def measure(count):
    call_command("flush", verbosity=0, interactive=False)
    now = timezone.now().replace(microsecond=0)
    accounts = stored_data(count, now)
    report = report_for(accounts, now)
    data = json.dumps(report, separators=(",", ":")).encode()
    parse_ms = timed(lambda: replica_report.parse(data))
    arrivals = iter(range(10**6))

    def store():
        arrival = now + datetime.timedelta(seconds=next(arrivals))
        services.store_report({**report, "received_at": wire(arrival)})

    store_ms = timed(store)
    state_ms = timed(lambda: services.state(now))
    metrics_ms = timed(lambda: list(metrics.families(now)))
    copy_ms = timed(lambda: services.copy_of(accounts[count // 2], now))
    print(
        f"{count:>8} {len(data) / 1024:>9.0f} {parse_ms:>9.1f} {store_ms:>9.1f}"
        f" {state_ms:>9.1f} {metrics_ms:>9.1f} {copy_ms:>9.1f}"
    )


def main():
    setup_test_environment()
    work = Path(tempfile.mkdtemp())
    settings.DATABASES["default"]["NAME"] = str(work / "bench.sqlite3")
    settings.WRAPPERS_PATH = work / "no-wrappers"
    settings.REPLICA_ENABLED = True
    try:
        call_command("migrate", verbosity=0)
        heading = ("volumes", "KiB", "parse ms", "store ms", "state ms", "metrics", "copy ms")
        print("{:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}".format(*heading))
        for count in (1000, 10000):
            measure(count)
        print(
            f"median of {REPEAT} runs each; parse: the primary's check of the report; "
            "store: update_df_stats' step with a new report; state: what the admin page "
            "reads; metrics: the /metrics families; copy: one employee's dashboard line"
        )
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
