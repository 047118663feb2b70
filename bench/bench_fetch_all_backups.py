"""One privileged call for every volume: fetch_backups.py without USER on
1,000 volumes, each scanned as its owner, PARALLEL_SCANS at once.

Each volume holds a Time Machine bundle with its snapshot history and a
folder of documents. Prints the call's time (median of 3; target: under 10 s
for 1,000, so 10 ms a volume at any count) and the size of its output, with
the host's account database and again with one of 10,000 accounts (a copy
of /etc/passwd seen only by the wrapper, in a mount namespace of its own:
tests/support/system_tables.py), so that a cost per volume growing with the
company would show. Uses a private wrapper installation with 1,000 backup
accounts of its own (made with useradd, in its managed group and uid
range), all removed afterwards. Run as root:

    .venv/bin/python bench/bench_fetch_all_backups.py [VOLUMES]
"""

import datetime
import grp
import json
import os
import plistlib
import pwd
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support import system_tables, wrapper_install

VOLUMES = 1000
TARGET_SECONDS = 10
# The account database the scan is also timed against: a company's worth,
# most of them no backup account (getpwnam per volume read it linearly).
PADDED_ACCOUNTS = 10_000
RUNS = 3
T0 = datetime.datetime(2024, 3, 1, 9, 0)


def fill(volume, uid, gid):
    bundle = volume / "Mac.sparsebundle"
    (bundle / "bands").mkdir(parents=True)
    for index in range(8):
        (bundle / "bands" / f"{index:x}").write_bytes(b"")
    (bundle / "Info.plist").write_bytes(plistlib.dumps({"band-size": 8388608}))
    history = {"Snapshots": [{"com.apple.backupd.SnapshotCompletionDate": T0}]}
    (bundle / "com.apple.TimeMachine.SnapshotHistory.plist").write_bytes(plistlib.dumps(history))
    (volume / "Documents").mkdir()
    (volume / "Documents" / "notes.txt").write_text("notes\n")
    for directory, subdirectories, files in os.walk(volume):
        for name in [*subdirectories, *files]:
            os.lchown(os.path.join(directory, name), uid, gid)
    os.chown(volume, uid, gid)
    os.chmod(volume, 0o700)


def main():
    if os.geteuid() != 0:
        sys.exit("bench_fetch_all_backups: run as root (it creates backup accounts)")
    count = int(sys.argv[1]) if len(sys.argv) > 1 else VOLUMES
    # A stopped benchmark (timeout, kill) still removes its accounts.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # Room for every account, and for uids other runs hold in the range.
    install = wrapper_install.create(uid_max=max(49999, 40000 + 2 * count))
    names = []
    try:
        gid = grp.getgrnam(install.group).gr_gid
        root = Path(install.settings["DIRECTORIES_ROOT"])
        # From the top of the range down, skipping uids other sessions took
        # meanwhile (tests running beside the benchmark share the range).
        uids = iter(
            range(install.settings["ACCOUNT_UID_MAX"], install.settings["ACCOUNT_UID_MIN"], -1)
        )
        token = install.base.name.rsplit("-", 1)[-1]
        print(f"creating {count:,} accounts and volumes...")
        for index in range(count):
            name = f"bf{token}{index:04d}"
            names.append(name)
            while True:
                options = ["-M", "-d", str(root / name), "-g", str(gid), "-u", str(next(uids))]
                # No subordinate id ranges, as useradd.py makes its accounts:
                # past a few thousand accounts useradd runs out of them.
                options += ["-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0"]
                made = subprocess.run(
                    ["useradd", *options, "-s", "/usr/sbin/nologin", "--", name],
                    capture_output=True,
                    text=True,
                )
                if made.returncode == 0:
                    break
                if "not unique" not in made.stderr:
                    sys.exit(f"useradd failed: {made.stderr.strip()}")
            (root / name).mkdir()
        for name in names:
            entry = pwd.getpwnam(name)
            fill(root / name, entry.pw_uid, entry.pw_gid)

        # The account database at the host's size, then at PADDED_ACCOUNTS
        # (in a private mount namespace: support/system_tables.py): the
        # cost per volume must not grow with the company.
        rows = []
        with tempfile.TemporaryDirectory(prefix="bench-tables-") as scratch:
            for total in (0, PADDED_ACCOUNTS):
                tables = system_tables.Tables(Path(scratch) / f"accounts-{total}", accounts=total)
                runs = [tables.run(install, "fetch_backups.py") for _ in range(RUNS)]
                for _, result in runs:
                    if result.returncode != 0:
                        sys.exit(f"fetch_backups.py failed: {result.stderr.strip()}")
                seconds = statistics.median(seconds for seconds, _ in runs)
                accounts = len(pwd.getpwall()) if total == 0 else total
                rows.append((accounts, seconds, runs[-1][1]))
        accounts, seconds, result = rows[0]
        volumes = json.loads(result.stdout)["volumes"]
        scanned = [report for report in volumes if "sources" in report]
        found = sum(len(report["sources"]) for report in scanned)
        print(
            f"{len(volumes):,} volumes in one call, {len(scanned):,} scanned, "
            f"{found:,} sources found, {len(result.stdout) / 1024:.0f} KiB of JSON"
        )
        print(f"{'accounts in passwd':>19} {'seconds (median of 3)':>22} {'per volume':>11}")
        for accounts, row_seconds, _ in rows:
            print(f"{accounts:>19,} {row_seconds:>22.2f} {row_seconds / count * 1000:>8.2f} ms")
        # The target: 1,000 volumes under TARGET_SECONDS, and a cost per
        # volume that stays flat (the same share of it) at any count.
        target = TARGET_SECONDS * count / 1000
        verdict = "met" if seconds < target and len(scanned) == count else "NOT met"
        print(
            f"  fetch_backups.py (all volumes)  {seconds:6.2f} s"
            f" ({seconds / count * 1000:.1f} ms a volume)   target under {target:g} s"
            f" ({TARGET_SECONDS:g} ms a volume): {verdict}"
        )
    finally:
        for name in names:
            subprocess.run(["userdel", "--remove", "--", name], check=False, capture_output=True)
        wrapper_install.destroy(install)


if __name__ == "__main__":
    main()
