"""How the volume inventory scales: the time of the one inventory call
(``lvdisplay.py``, every volume) and of a single-volume query
(``lvdisplay.py USER``) for 1, 100 and 1,000 volumes, and the programs each
call runs (counted with strace), showing the inventory stays one privileged
call running one ``lvs`` whatever the number of volumes.

Uses a private wrapper installation and a real LVM volume group on a loop
PV with activation off; removes both afterwards. Run as root:

    .venv/bin/python bench/bench_inventory.py
"""

import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support import wrapper_install
from support.lvm import loop_volume_group, lvm
from support.storage import backup_account

COUNTS = (1, 100, 1000)
REPEATS = 11


def add_volumes(group, first, last):
    # Straight to LVM (one extent each): only the count matters here.
    for number in range(first, last):
        lvm("lvcreate", "-an", "-Zn", "-Wn", "-y", "-l", "1", "-n", f"bench{number:04d}",
            group.name)  # fmt: skip


def timed(install, *args):
    """Median wall time in ms of a wrapper call, and its last result."""
    samples = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = install.run("lvdisplay.py", *args)
        samples.append((time.perf_counter() - start) * 1000)
        if result.returncode != 0:
            sys.exit(f"lvdisplay.py {' '.join(args)} failed: {result.stderr.strip()}")
    return statistics.median(samples), json.loads(result.stdout)


def programs_run(install, *args):
    """{program: times} executed by one wrapper call, besides the wrapper itself."""
    if shutil.which("strace") is None:
        return None
    with tempfile.NamedTemporaryFile(mode="r", suffix=".strace") as trace:
        subprocess.run(
            ["strace", "-f", "-qq", "-e", "trace=execve", "-e", "signal=none",
             "-o", trace.name, str(install.path / "lvdisplay.py"), *args],
            capture_output=True, check=True, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        )  # fmt: skip
        calls = collections.Counter()
        for line in trace:
            if "execve(" in line and line.rstrip().endswith("= 0"):
                program = line.split('execve("', 1)[1].split('"', 1)[0]
                calls[os.path.basename(program)] += 1
    calls["lvdisplay.py"] -= 1
    return {name: count for name, count in calls.items() if count}


def describe(calls):
    if calls is None:
        return "n/a (strace not installed)"
    return ", ".join(f"{name} x{count}" for name, count in sorted(calls.items())) or "none"


def main():
    if os.geteuid() != 0:
        sys.exit("bench_inventory: run as root (it makes loop devices and an LVM volume group)")
    install = wrapper_install.create()
    try:
        with (
            loop_volume_group(size_gib=8, metadata_mib=16) as group,
            backup_account(install) as account,
        ):
            install.write_local_settings(
                BACKEND="lvm", VOLUME_GROUP=group.name, LVM_ACTIVATION=False
            )
            user = account.pw_name
            lvm("lvcreate", "-an", "-Zn", "-Wn", "-y", "-l", "1", "-n", user, group.name)
            print(f"LVM volume group {group.name} on {group.device}, activation off;"
                  f" median of {REPEATS} runs per figure")  # fmt: skip
            print(f"{'volumes':>8} {'inventory ms':>13} {'one volume ms':>14}  programs run")
            have = 1
            for count in COUNTS:
                add_volumes(group, have - 1, count - 1)
                have = count
                inventory_ms, inventory = timed(install)
                single_ms, single = timed(install, user)
                if len(inventory["volumes"]) != count or single["volume"]["user"] != user:
                    sys.exit(f"expected {count} volumes, got {len(inventory['volumes'])}")
                print(
                    f"{count:>8} {inventory_ms:>13.1f} {single_ms:>14.1f}  inventory:"
                    f" {describe(programs_run(install))}; one volume:"
                    f" {describe(programs_run(install, user))}"
                )
    finally:
        wrapper_install.destroy(install)


if __name__ == "__main__":
    main()
