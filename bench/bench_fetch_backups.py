"""How long backup discovery takes on a large volume, and what the original's
approach (stat every band of a Time Machine bundle) would cost on the same one.

The volume holds a Time Machine bundle of 100,000 bands with no snapshot
history (the fallback that dates a bundle from its bands), a restic
repository with 10,000 pack files, and a Windows 7 backup set beside a
system image. Timed, warm cache, median of several runs:

- fetch_backups.py USER, end to end (interpreter start, validation, lock,
  the child dropping to the user, the scan, the JSON);
- the scan alone (wrapperlib.discovery.scan, in this process);
- the naive dating: scandir of bands/ and an lstat of every band.

Uses a private wrapper installation and backup account; removes both. Run as
root:

    .venv/bin/python bench/bench_fetch_backups.py
"""

import json
import os
import plistlib
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "wrappers"))

from support import backup_tools, wrapper_install
from wrapperlib import discovery

BANDS = 100_000
PACKS = 10_000
REPEATS = 7
TARGET_SECONDS = 0.5


def create_empty(path):
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def time_machine_bundle(volume):
    bundle = volume / "Bench-Mac.sparsebundle"
    bands = bundle / "bands"
    bands.mkdir(parents=True)
    for index in range(BANDS):
        create_empty(bands / f"{index:x}")
    (bundle / "Info.plist").write_bytes(plistlib.dumps({"band-size": 8388608}))
    (bundle / "com.apple.TimeMachine.MachineID.plist").write_bytes(
        plistlib.dumps({"VerificationState": 1, "com.apple.backupd.HostUUID": "bench"})
    )
    return bands


def restic_repository(volume):
    repository = volume / "restic"
    for folder in ("keys", "snapshots", "index", "locks"):
        (repository / folder).mkdir(parents=True)
    (repository / "config").write_bytes(os.urandom(155))
    (repository / "keys" / ("a" * 64)).write_bytes(os.urandom(400))
    for index in range(30):
        (repository / "snapshots" / f"{index:064x}").write_bytes(os.urandom(190))
    for index in range(PACKS):
        name = f"{index * 2654435761 % (1 << 64):064x}"
        (repository / "data" / name[:2]).mkdir(parents=True, exist_ok=True)
        create_empty(repository / "data" / name[:2] / name)


def windows_backups(volume):
    backup_set = volume / "WORKPC" / "Backup Set 2024-01-07 200000"
    for day in range(1, 11):
        run = backup_set / f"Backup Files 2024-01-{day:02d} 200000"
        run.mkdir(parents=True)
        for number in range(1, 21):
            create_empty(run / f"Backup files {number}.zip")
    image = volume / "WindowsImageBackup" / "WORKPC" / "Backup 2024-01-07 210000"
    image.mkdir(parents=True)
    for name in ("disk0.vhdx", "disk1.vhdx", "BackupSpecs.xml"):
        create_empty(image / name)


def median_seconds(function):
    function()  # warm the cache
    samples = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def naive_band_dating(bands):
    """The original's way: stat every band for the newest modification."""
    with os.scandir(bands) as entries:
        return max(entry.stat(follow_symlinks=False).st_mtime for entry in entries)


def main():
    if os.geteuid() != 0:
        sys.exit("bench_fetch_backups: run as root (it creates a backup account)")
    install = wrapper_install.create()
    try:
        with backup_tools.backup_volume(install) as (name, volume):
            print(f"building the volume ({BANDS:,} bands, {PACKS:,} restic packs)...")
            bands = time_machine_bundle(volume)
            restic_repository(volume)
            windows_backups(volume)
            backup_tools.give_to(volume, name)

            report = backup_tools.fetch(install, name)
            formats = sorted(source["format"] for source in report["sources"])
            print(f"found: {', '.join(formats)}; truncated: {report['truncated']}")
            limits = discovery.Limits(200_000, 20)

            def wrapper():
                result = install.run("fetch_backups.py", name)
                if result.returncode != 0:
                    sys.exit(f"fetch_backups.py failed: {result.stderr.strip()}")
                json.loads(result.stdout)

            end_to_end = median_seconds(wrapper)
            scan_alone = median_seconds(lambda: discovery.scan(volume, limits))
            naive = median_seconds(lambda: naive_band_dating(bands))
    finally:
        wrapper_install.destroy(install)
    print(f"\nmedian of {REPEATS} runs, warm cache:")
    for label, seconds in (
        ("fetch_backups.py USER (end to end)", end_to_end),
        ("scan alone (in process)", scan_alone),
        (f"naive: stat all {BANDS:,} bands", naive),
    ):
        print(f"  {label:<40} {seconds * 1000:9.1f} ms")
    verdict = "met" if end_to_end < TARGET_SECONDS else "NOT met"
    print(f"target: end to end under {TARGET_SECONDS} s: {verdict}")
    print(f"naive band dating alone takes {naive / scan_alone:.0f}x the whole scan")


if __name__ == "__main__":
    main()
