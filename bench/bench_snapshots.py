"""Taking snapshots of 1, 100 and 1,000 volumes every 15 minutes (privileged
calls and seconds), in the steady state too, and the cost of measuring what
changed per snapshot.

    sudo .venv/bin/python bench/bench_snapshots.py [REAL_VOLUMES [STEADY_VOLUMES]]

Uses a private wrapper installation (tests/support/wrapper_install) with
REAL_VOLUMES (default 50: each sparse image is promised its full size, so the
pool filesystem bounds the count) real 1 GiB loop-file btrfs volumes, made and
mounted through the real wrappers; everything is removed afterwards. The
scheduled run is one privileged call whatever the count: snapshot-create.py
without USER. Rows up to REAL_VOLUMES are measured; a larger row is
extrapolated from the measured per-volume cost, and says so. Each volume
gets 20 files of 64 KiB rewritten between runs, so every run measures a
change. The change measurement alone (wrapperlib.btrfs_changes) is then
timed in this process on one volume for 0, 1,000 and 10,000 changed files.

The same run is then timed with the host's mount table and with 1,000
more mounts in it (seen only by the run, in a mount namespace of its own:
tests/support/system_tables.py): the cost per volume must stay flat.

The steady state: STEADY_VOLUMES (default 3) of them are given, directly by
root through a private mount of their top level, the snapshots the default
policy keeps after 16 days at 15 minutes (computed with the wrappers' own
rules: about 380, each with its quota group), then the scheduled run over
them is timed (it takes one, measures, and prunes what fell out of
retention) and extrapolated to 1,000 volumes, as a share of the interval.
"""

import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "wrappers"))

from support import system_tables, wrapper_install
from wrapperlib import btrfs_changes, config, snapshots

ROWS = (1, 100, 1000)
FILES_PER_VOLUME = 20
FILE_BYTES = 64 * 1024
CHANGE_SIZES = (0, 1000, 10000)
INTERVAL = timedelta(minutes=15)
STEADY_DAYS = 16
# Mounts added to the table for its row (a server with a volume per
# employee has two mounts per volume), and runs per median there.
PADDED_MOUNTS = 1000
PADDED_RUNS = 3


class Clock:
    """The wrappers' simulated clock (root's SNAPSHOT_CLOCK), 15 minutes a
    step, the schedule's rate."""

    def __init__(self, install):
        self.install = install
        self.moment = datetime(2026, 1, 1, 0, 5, tzinfo=UTC)

    def tick(self, step=INTERVAL):
        self.moment += step
        self.install.write_local_settings(SNAPSHOT_CLOCK=self.moment.strftime("%Y-%m-%dT%H:%M:%SZ"))


def steady_state_names(until):
    """What one volume holds at `until` after STEADY_DAYS of runs every 15
    minutes, by the wrappers' rules under their default settings."""
    defaults = Path(__file__).resolve().parent.parent / "wrappers" / "wrappers_settings.py"
    spec = importlib.util.spec_from_file_location("defaults", defaults)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config._settings = types.SimpleNamespace(
        **{k: v for k, v in vars(module).items() if k.isupper()}
    )
    moment, existing = until - timedelta(days=STEADY_DAYS), []
    while moment <= until:
        existing.append(snapshots.name_for(moment))
        keep = snapshots.to_keep(existing, moment)
        existing = [name for name in existing if name in keep]
        moment += INTERVAL
    return existing


def source_of(mount_point):
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            fields = line.split()
            if fields[4] == str(mount_point):
                return fields[fields.index("-") + 2]
    raise SystemExit(f"{mount_point} is not mounted")


def populate(install, user, names):
    """names as read-only snapshots of user's data, made by root directly in
    a private mount of the top level (what many runs would have left)."""
    data = Path(install.settings["DIRECTORIES_ROOT"]) / user
    top = tempfile.mkdtemp(prefix="bench-top-")
    subprocess.run(["mount", "-o", "subvolid=5", source_of(data), top], check=True)
    try:
        for name in names:
            subprocess.run(
                [
                    "btrfs",
                    "-q",
                    "subvolume",
                    "snapshot",
                    "-r",
                    f"{top}/data",
                    f"{top}/snapshots/{name}",
                ],
                check=True,
                capture_output=True,
            )
    finally:
        subprocess.run(["umount", top], check=True)
        os.rmdir(top)


def run(install, name, *args):
    result = install.run(name, *args)
    if result.returncode != 0:
        raise SystemExit(f"{name} {args}: {result.stderr.strip()}")
    return json.loads(result.stdout) if result.stdout.strip() else None


def make_volume(install, index):
    user = f"bsnap{os.getpid() % 10000}x{index}"
    run(install, "useradd.py", user)
    run(install, "lvcreate.py", user, "1")
    for wrapper in ("mkfs-btrfs.py", "mkdir.py", "mount.py", "chown.py"):
        run(install, wrapper, user)
    return user


def rewrite(install, users, count=FILES_PER_VOLUME, size=FILE_BYTES):
    for user in users:
        data = Path(install.settings["DIRECTORIES_ROOT"]) / user
        for number in range(count):
            (data / f"file-{number}").write_bytes(os.urandom(size))


def timed(function):
    start = time.perf_counter()
    value = function()
    return time.perf_counter() - start, value


def take_all(install, clock, users):
    """The scheduled run over the mounted volumes: one privileged call."""
    rewrite(install, users)
    clock.tick()
    seconds, result = timed(lambda: run(install, "snapshot-create.py"))
    failed = [u for u, r in result["volumes"].items() if r["error"] or not r["snapshot"]]
    if failed:
        raise SystemExit(f"snapshot-create.py failed for {failed[:3]}")
    return seconds


def take_one(install, clock, user):
    rewrite(install, [user])
    clock.tick()
    seconds, _ = timed(lambda: run(install, "snapshot-create.py", user))
    return seconds


def measurement_cost(install, clock, user):
    """btrfs_changes.measure on one volume after N files were written (the
    first round makes them, later rounds rewrite the first N)."""
    top = Path(install.settings["SNAPSHOTS_ROOT"]) / user / "snapshots"
    rows = []
    for count in CHANGE_SIZES:
        clock.tick()
        run(install, "snapshot-create.py", user)
        rewrite(install, [user], count=count, size=4096)
        clock.tick()
        run(install, "snapshot-create.py", user)
        previous, latest = sorted(os.listdir(top))[-2:]
        samples = []
        for _ in range(5):
            start = time.perf_counter()
            figures = btrfs_changes.measure(
                str(top / previous), str(top / latest), time.monotonic() + 60, 10**7
            )
            samples.append(time.perf_counter() - start)
        rows.append((count, statistics.median(samples), figures))
    return rows


def padded_mount_table(install, clock, users):
    """The scheduled run over the same volumes with the host's mount table,
    then with PADDED_MOUNTS more mounts in it (in a mount namespace of the
    run's own: support/system_tables.py): reading the table per volume made
    the cost per volume grow with the number of mounts."""
    print()
    print(f"Mount table size ({len(users)} real volumes, median of {PADDED_RUNS} runs)")
    print(f"{'mounts':>8} {'seconds':>9} {'per volume':>11}")
    with tempfile.TemporaryDirectory(prefix="bench-tables-") as scratch:
        for extra in (0, PADDED_MOUNTS):
            tables = system_tables.Tables(Path(scratch) / f"mounts-{extra}", mounts=extra)
            samples = []
            for _ in range(PADDED_RUNS):
                rewrite(install, users)
                clock.tick()
                seconds, result = tables.run(install, "snapshot-create.py")
                if result.returncode != 0:
                    raise SystemExit(f"snapshot-create.py: {result.stderr.strip()}")
                samples.append(seconds)
            median = statistics.median(samples)
            mounts = system_tables.mount_table_size() + extra
            print(f"{mounts:>8,} {median:>9.2f} {median / len(users):>10.3f}s")


def steady(install, clock, users):
    """The scheduled run over volumes that hold the steady state's snapshots."""
    print()
    print(f"Steady state at 15 minutes ({len(users)} real volumes, the run over them alone)")
    clock.tick(timedelta(days=STEADY_DAYS + 30))
    names = steady_state_names(clock.moment)
    seconds, _ = timed(lambda: [populate(install, user, names) for user in users])
    print(f"  {len(names)} snapshots a volume made directly in {seconds:.1f} s")
    others = [
        user for user in os.listdir(install.settings["DIRECTORIES_ROOT"]) if user not in users
    ]
    mounted = [u for u in others if os.path.ismount(Path(install.settings["DIRECTORIES_ROOT"]) / u)]
    for user in mounted:
        run(install, "umount.py", user)
    try:
        runs = []
        for _ in range(3):
            rewrite(install, users)
            clock.tick()
            seconds, result = timed(lambda: run(install, "snapshot-create.py"))
            pruned = sum(len(r["pruned"]) for r in result["volumes"].values())
            runs.append((seconds, pruned))
    finally:
        for user in mounted:
            run(install, "mount.py", user)
    per_volume = statistics.median(seconds for seconds, _ in runs) / len(users)
    print(f"{'run':>4} {'seconds':>9} {'per volume':>11} {'pruned':>7}")
    for number, (seconds, pruned) in enumerate(runs, 1):
        print(f"{number:>4} {seconds:>9.2f} {seconds / len(users):>10.3f}s {pruned:>7}")
    estimate = per_volume * 1000
    print(
        f"  1,000 volumes in the steady state: {estimate:.1f} s a run (extrapolated),"
        f" {100 * estimate / INTERVAL.total_seconds():.1f} % of the 15-minute interval"
    )


def main():
    real = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    steady_count = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    install = wrapper_install.create()
    try:
        install.write_local_settings(LOOPFILE_POOL_SIZE_GIB=real + 10)
        clock = Clock(install)
        print(f"making {real} real btrfs volumes (1 GiB loop files) through the wrappers...")
        seconds, users = timed(lambda: [make_volume(install, i) for i in range(real)])
        print(f"  {seconds:.1f} s")
        print()
        print("Taking snapshots (each row: the scheduled run, ONE privileged call)")
        print(f"{'volumes':>8} {'real':>5} {'calls':>6} {'seconds':>9} {'per volume':>11}")
        one = statistics.median(take_one(install, clock, users[0]) for _ in range(3))
        print(f"{1:>8} {1:>5} {1:>6} {one:>9.2f} {one:>10.3f}s   (snapshot-create.py USER)")
        measured = {}
        for count in sorted({c for c in ROWS if c <= real} | {real}):
            # The all-volume form over exactly `count` mounted volumes.
            mounted = users[:count]
            for user in users[count:]:
                run(install, "umount.py", user)
            measured[count] = statistics.median(take_all(install, clock, mounted) for _ in range(2))
            for user in users[count:]:
                run(install, "mount.py", user)
            print(
                f"{count:>8} {count:>5} {1:>6} {measured[count]:>9.2f}"
                f" {measured[count] / count:>10.3f}s"
            )
        largest = max(measured)
        per_volume = measured[largest] / largest
        for count in ROWS:
            if count not in measured and count > real:
                estimate = per_volume * count
                print(
                    f"{count:>8} {real:>5} {1:>6} {estimate:>9.2f} {per_volume:>10.3f}s"
                    f"   (extrapolated from {largest} real volumes)"
                )
        padded_mount_table(install, clock, users)
        steady(install, clock, users[:steady_count])
        print()
        print("Measuring change per snapshot (btrfs send --no-data, in process, median of 5)")
        print(f"{'files written':>14} {'seconds':>9} {'new':>6} {'overwritten':>12} {'bytes':>11}")
        for count, seconds, figures in measurement_cost(install, clock, users[0]):
            print(
                f"{count:>14} {seconds:>9.4f} {figures['new_files']:>6}"
                f" {figures['overwritten_files']:>12} {figures['changed_bytes']:>11}"
            )
    finally:
        wrapper_install.destroy(install)


if __name__ == "__main__":
    main()
