"""The portal's part of the scheduled snapshot run (every 15 minutes), with
1, 100 and 1,000 volumes: privileged calls per run, and the time to store
every volume's snapshot and check it for a mass change; and the admin
snapshot page. A last row has 1,000 volumes each holding what the policy
keeps at 15 minutes in the steady state (about 370 snapshots: the list the
run stores every time), and says what share of the interval a run takes.

    .venv/bin/python bench/bench_take_snapshots.py

The wrapper answers from a recorded snapshot-create.py output (the agreed
interface), so this measures the portal alone; the wrappers' own cost (the
snapshots and the change measurement) is bench_snapshot_wrappers' to give.
Targets: two privileged calls per run whatever the number of volumes (take
every snapshot; list them all for their protection and space); the
portal's part of a run under 2 s for 1,000 volumes; the admin page within
one privileged call (the pool) and under a second for 1,000 volumes.
"""

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

from backup.privileged.client import Counter  # noqa: E402
from backup.volumes.models import Volume  # noqa: E402
from support.recorded_wrappers import RecordedWrappers  # noqa: E402

COUNTS = (1, 100, 1000)
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


def main():
    workdir = Path(tempfile.mkdtemp())
    try:
        measure(workdir)
    finally:
        shutil.rmtree(workdir)


def measure(workdir):
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
    print(f"{'volumes':>8} {'run ms':>8} {'calls/run':>10} {'admin page ms':>14} {'calls':>6}")
    existing, hour = 0, datetime(2026, 1, 1, tzinfo=UTC)
    for count in COUNTS:
        add_volumes(existing, count)
        existing = count
        accounts = list(Volume.objects.values_list("account", flat=True))
        durations, calls = [], []
        for _ in range(RUNS):
            hour += INTERVAL
            answer_run(recorded, hour, accounts)
            before = Counter.calls
            start = time.perf_counter()
            call_command("take_snapshots")
            durations.append((time.perf_counter() - start) * 1000)
            calls.append(Counter.calls - before)
        before = Counter.calls
        start = time.perf_counter()
        assert admin.get("/staff/snapshots/").status_code == 200
        page_ms = (time.perf_counter() - start) * 1000
        print(
            f"{count:>8} {statistics.median(durations):>8.1f} {max(calls):>10}"
            f" {page_ms:>14.1f} {Counter.calls - before:>6}"
        )
    accounts = list(Volume.objects.values_list("account", flat=True))
    durations = []
    for _ in range(RUNS):
        hour += INTERVAL
        held = steady_state_names(hour)
        answer_run(recorded, hour, accounts, held)
        start = time.perf_counter()
        call_command("take_snapshots")
        durations.append((time.perf_counter() - start) * 1000)
    run_ms = statistics.median(durations)
    print(
        f"{len(accounts):>8} {run_ms:>8.1f}  steady state at 15 minutes: {len(held)} snapshots"
        f" a volume, {len(held) * len(accounts):,} listed; the portal's part takes"
        f" {100 * run_ms / 1000 / INTERVAL.total_seconds():.1f} % of the interval"
    )
    print(f"run ms: median of {RUNS} runs, the wrapper answering from a recorded output")


if __name__ == "__main__":
    main()
