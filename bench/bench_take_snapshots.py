"""The portal's part of the scheduled snapshot run (every 15 minutes), with
1, 100 and 1,000 volumes: privileged calls per run, and the time to store
every volume's snapshot and check it for a mass change; and the admin
snapshot page. A last row has 1,000 volumes each holding what the policy
keeps at 15 minutes in the steady state (about 380 snapshots listed every
run, of which one is new and one or two pruned), and says what share of the
interval a run takes.

    .venv/bin/python bench/bench_take_snapshots.py [--counts 1,100,1000,10000] [--steady 1000]

The 10,000-volume point shows growth (issue 25); the steady state at 10,000
volumes (3.8 million snapshots listed, a 570 MB listing) is past what a run
of this benchmark can build in reasonable time here, so ``--steady 3000``
is the larger point given. A run's time is split into the two privileged
calls (the stand-in starting and printing its recorded answer, the portal
reading and checking the JSON) and the rest: storing, detecting, writing.

The wrapper answers from a recorded snapshot-create.py output (the agreed
interface), so this measures the portal alone; the wrappers' own cost (the
snapshots and the change measurement) is bench_snapshot_wrappers' to give.
Targets: two privileged calls per run whatever the number of volumes (take
every snapshot; list them all for their protection and space); the
portal's part of a run under 2 s for 1,000 volumes; the admin page within
one privileged call (the pool) and under a second for 1,000 volumes.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
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

from backup.privileged import client, commands  # noqa: E402
from backup.privileged.client import Counter  # noqa: E402
from backup.volumes.models import Volume  # noqa: E402
from support.recorded_wrappers import RecordedWrappers  # noqa: E402

COUNTS = "1,100,1000,10000"
STEADY = 1000
RUNS = 5
MIB = 1024**2
INTERVAL = timedelta(minutes=15)


def steady_state_names(until):
    """The snapshot names one volume holds at `until` after 16 days of runs
    every 15 minutes under the wrappers' default policy (their own rules)."""
    sys.path.insert(0, str(REPO / "wrappers"))
    import importlib.util
    import types

    from wrapperlib import config, snapshots

    spec = importlib.util.spec_from_file_location(
        "defaults", REPO / "wrappers" / "wrappers_settings.py"
    )
    defaults = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(defaults)
    config._settings = types.SimpleNamespace(
        **{k: v for k, v in vars(defaults).items() if k.isupper()}
    )
    moment, existing = until - timedelta(days=16), []
    while moment <= until:
        existing.append(snapshots.name_for(moment))
        keep = snapshots.to_keep(existing, moment)
        existing = [name for name in existing if name in keep]
        moment += INTERVAL
    return [(name, snapshots.protected_until(name)) for name in existing]


def add_volumes(start, stop):
    users = get_user_model()
    made = users.objects.bulk_create(users(username=f"bench{n:04d}") for n in range(start, stop))
    Volume.objects.bulk_create(
        Volume(owner=user, account=user.username, size_gib=1, filesystem="btrfs") for user in made
    )


def answer_run(recorded, when, accounts, held=None):
    """held: [(name, protected until)] each volume lists; None: the one taken."""
    name = when.strftime("@GMT-%Y.%m.%d-%H.%M.%S")
    # What a backup run leaves: mostly new files, a few rewritten, measured
    # over the interval and the 24-hour window (the rules read both).
    change = {
        "base": (when - timedelta(hours=1)).strftime("@GMT-%Y.%m.%d-%H.%M.%S"),
        "held_bytes": 780 * MIB,
        "complete": True,
        "new_files": 30,
        "new_bytes": 15 * MIB,
        "overwritten_files": 10,
        "overwritten_bytes": 5 * MIB,
        "deleted_files": 2,
        "deleted_bytes": MIB,
    }
    window = {**change, "base": (when - timedelta(hours=24)).strftime("@GMT-%Y.%m.%d-%H.%M.%S")}
    outcome = {
        "snapshot": name,
        "changed_bytes": 20 * MIB,
        "changed_files": 40,
        "change": change,
        "window_change": window,
        "holds_bytes": 800 * MIB,
        "used_bytes": 800 * MIB,
        "size_bytes": 1024 * MIB,
        "pruned": [],
        "error": None,
    }
    recorded.answer(
        "snapshot-create.py",
        {
            "taken_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "volumes": dict.fromkeys(accounts, outcome),
        },
    )
    iso = "%Y-%m-%dT%H:%M:%SZ"
    snapshots = [
        {
            "name": held_name,
            "taken_at": datetime.strptime(held_name, "@GMT-%Y.%m.%d-%H.%M.%S").strftime(iso),
            "protected_until": until.strftime(iso),
            "protected": until > when,
            "exclusive_bytes": 20 * MIB,
        }
        for held_name, until in held or [(name, when + timedelta(days=14))]
    ]
    recorded.answer(
        "snapshot-list.py",
        {
            "volumes": {
                account: {
                    "supported": True,
                    "snapshots": snapshots,
                    "snapshot_bytes": 20 * MIB,
                    "used_bytes": 800 * MIB,
                    "size_bytes": 1024 * MIB,
                }
                for account in accounts
            }
        },
    )


class CallTime:
    """Seconds spent in privileged calls (the stand-in and the portal's
    reading of its JSON), so the portal's own part can be told apart."""

    seconds = 0.0
    real_run = staticmethod(client.run)

    @classmethod
    def run(cls, *args, **kwargs):
        start = time.perf_counter()
        try:
            return cls.real_run(*args, **kwargs)
        finally:
            cls.seconds += time.perf_counter() - start


def timed_run():
    """One take_snapshots: (wall ms, ms of it in privileged calls, calls)."""
    calls, in_calls = Counter.calls, CallTime.seconds
    start = time.perf_counter()
    call_command("take_snapshots")
    wall = (time.perf_counter() - start) * 1000
    return wall, (CallTime.seconds - in_calls) * 1000, Counter.calls - calls


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default=COUNTS, help="volume counts of the plain runs")
    parser.add_argument("--steady", type=int, default=STEADY, help="volumes in the steady state")
    options = parser.parse_args()
    counts = [int(count) for count in options.counts.split(",") if count]
    commands.run = CallTime.run
    workdir = Path(tempfile.mkdtemp())
    try:
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        measure(workdir, counts, options.steady)
    finally:
        shutil.rmtree(workdir)


def measure(workdir, counts, steady):
    setup_test_environment()
    settings.DATABASES["default"]["NAME"] = str(workdir / "bench.sqlite3")
    call_command("migrate", verbosity=0)
    (workdir / "wrappers").mkdir()
    recorded = RecordedWrappers(workdir / "wrappers")
    settings.WRAPPERS_PATH = recorded.path
    settings.WRAPPERS_USE_SUDO = False
    recorded.answer(
        "vgdisplay.py",
        {"size_bytes": 1, "allocated_bytes": 1, "used_bytes": 1, "free_bytes": 0},
    )
    get_user_model().objects.create(username="benchadmin", is_staff=True)
    admin = Client(REMOTE_USER="benchadmin")
    print(
        f"{'volumes':>8} {'run ms':>8} {'in calls':>9} {'storing':>8} {'calls/run':>10}"
        f" {'admin page ms':>14} {'calls':>6}"
    )
    existing, hour = 0, datetime(2026, 1, 1, tzinfo=UTC)
    for count in counts:
        add_volumes(existing, count)
        existing = count
        accounts = list(Volume.objects.values_list("account", flat=True))
        runs = []
        for _ in range(RUNS):
            hour += INTERVAL
            answer_run(recorded, hour, accounts)
            runs.append(timed_run())
        before = Counter.calls
        start = time.perf_counter()
        assert admin.get("/staff/snapshots/").status_code == 200
        page_ms = (time.perf_counter() - start) * 1000
        print(f"{count:>8} {row(runs)} {page_ms:>14.1f} {Counter.calls - before:>6}", flush=True)
    if not steady:
        return
    add_volumes(existing, max(existing, steady))
    accounts = sorted(Volume.objects.values_list("account", flat=True))[:steady]
    # Untimed: the first run stores every volume's whole list, as the run
    # after an upgrade would; the steady state is the runs after it.
    hour += INTERVAL
    answer_run(recorded, hour, accounts, steady_state_names(hour))
    fill = timed_run()
    runs = []
    for _ in range(RUNS):
        hour += INTERVAL
        held = steady_state_names(hour)
        answer_run(recorded, hour, accounts, held)
        runs.append(timed_run())
    run_ms = statistics.median(wall for wall, _, _ in runs)
    print(
        f"{steady:>8} {row(runs)}  steady state at 15 minutes: {len(held)} snapshots"
        f" a volume, {len(held) * steady:,} listed; the portal's part takes"
        f" {100 * run_ms / 1000 / INTERVAL.total_seconds():.1f} % of the interval"
        f" (the first run, storing every list: {fill[0]:.0f} ms)"
    )
    print(
        f"run ms: median of {RUNS} runs, the wrapper answering from a recorded output;"
        " in calls: of it, the two privileged calls; storing: the rest"
    )


def row(runs):
    """Medians of (wall, in calls, the rest) and the most calls of any run."""
    wall = statistics.median(run[0] for run in runs)
    in_calls = statistics.median(run[1] for run in runs)
    rest = statistics.median(run[0] - run[1] for run in runs)
    return f"{wall:>8.1f} {in_calls:>9.1f} {rest:>8.1f} {max(run[2] for run in runs):>10}"


if __name__ == "__main__":
    main()
