"""What one wrapper call costs in CPU, measured the way the portal pays it:
as the service user of a real bin/install, through real ``sudo -n``.

    sudo .venv/bin/python bench/bench_wrapper_cost.py [--runs 21] [--volumes 0]

Each query wrapper the portal calls runs --runs times; the figure is the
median CPU time (user + system) of the whole child, sudo and the wrapper it
starts, as os.wait4 reports it, printed beside the target (under 40 ms for a
query). The same wrappers run by root directly (no sudo: the demo's and the
tests' path) are printed for comparison (the difference is sudo's share),
with the bare interpreter's start as the floor, then ``python3 -X
importtime``'s top entries for the inventory call. The installation has one
real, mounted 1 GiB ext4 volume; --volumes adds that many more, made but not
formatted (the inventory lists them all). Everything is removed at the end.
Run as root.
"""

import argparse
import os
import pwd
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from support import deployment  # noqa: E402

TARGET_MS = 40
PYTHON = "/usr/bin/python3"
SUDO = "/usr/bin/sudo"
CLEAN_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


def queries(user):
    """(wrapper, args) of every query the portal runs."""
    return [
        ("lvdisplay.py", ()),
        ("lvdisplay.py", (user,)),
        ("vgdisplay.py", ()),
        ("df.py", ()),
        ("df.py", (user,)),
        ("dmsetup.py", ()),
        ("wrapper-settings.py", ()),
        ("snapshot-list.py", (user,)),
        ("fetch_backups.py", (user,)),
    ]


def cpu_ms(argv, account=None):
    """CPU time (user + system, ms) of argv run to its end, with every
    process it waited for; as account (a passwd entry) when given. Returns
    (ms, exit status, stdout bytes)."""
    output = os.memfd_create("bench-output")
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.dup2(output, 1)
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 0)
            os.dup2(null, 2)
            if account is not None:
                os.setgroups([])
                os.setgid(account.pw_gid)
                os.setuid(account.pw_uid)
            # fork and exec, not subprocess: os.wait4 must reap the child itself.
            os.execve(argv[0], argv, CLEAN_ENV)  # noqa: S606
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    os.lseek(output, 0, os.SEEK_SET)
    with os.fdopen(output, "rb") as file:
        printed = file.read()
    return (usage.ru_utime + usage.ru_stime) * 1000, os.waitstatus_to_exitcode(status), printed


def median_ms(argv, runs, account=None):
    samples = []
    for _ in range(runs):
        ms, code, printed = cpu_ms(argv, account)
        if code != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {code}: {printed[-300:]!r}")
        samples.append(ms)
    return statistics.median(samples), max(samples)


def import_times(wrapper, top=12):
    """The wrapper's top-level imports by cumulative time (python -X importtime)."""
    traced = subprocess.run(
        [PYTHON, "-IB", "-X", "importtime", str(wrapper)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=CLEAN_ENV,
        check=True,
    )
    lines = traced.stderr.splitlines()
    entries = []
    for line in lines:
        fields = line.removeprefix("import time:").split("|")
        # Top-level modules are indented by one space, the ones they import by more.
        if len(fields) != 3 or not fields[0].strip().isdigit() or fields[2].startswith("  "):
            continue
        entries.append((int(fields[1]), int(fields[0]), fields[2].strip()))
    return sorted(entries, reverse=True)[:top]


def make_volumes(installation, extra):
    """One real mounted volume, and extra made but not formatted, through
    the installed wrappers (as root); returns the mounted one's name."""
    token = installation.prefix.name.rsplit("-", 1)[-1]
    real = f"wc{token}"
    steps = [("useradd.py",), ("lvcreate.py", "1"), ("mkfs-ext4.py",), ("mkdir.py",), ("mount.py",)]
    for name, wanted in [(real, steps), *((f"wc{token}x{n:04d}", steps[:2]) for n in range(extra))]:
        for wrapper, *args in wanted:
            _, code, printed = cpu_ms([str(installation.wrappers / wrapper), name, *args])
            if code != 0:
                raise RuntimeError(f"{wrapper} {name} exited {code}: {printed[-300:]!r}")
    return real


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21, help="runs per figure (median)")
    parser.add_argument("--volumes", type=int, default=0, help="unformatted volumes to add")
    options = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: it installs the portal (service user, sudoers) into a prefix")
    # The pool sets aside each volume's full size: room for all of them.
    installation = deployment.create(LOOPFILE_POOL_SIZE_GIB=options.volumes + 10)
    try:
        started = time.perf_counter()
        installed = installation.install()
        if installed.returncode != 0:
            raise RuntimeError(f"bin/install failed: {installed.stdout}{installed.stderr}")
        wrappers = installation.wrappers
        user = make_volumes(installation, options.volumes)
        account = pwd.getpwnam(installation.user)
        print(
            f"bin/install into {installation.prefix.parent}/, service user with its sudoers"
            f" entry, 1 mounted volume + {options.volumes} more, in"
            f" {time.perf_counter() - started:.0f} s; median of {options.runs} runs,"
            f" CPU = user + system of the child and what it waited for"
        )
        print(
            f"{'call':<32}{'sudo as service user':>21}{'max':>7}{'root direct':>13}"
            f"{'sudo adds':>11}  target"
        )
        floor, _ = median_ms([PYTHON, "-IB", "-c", "pass"], options.runs)
        print(f"{'python3 -IB -c pass (floor)':<32}{'':>28}{floor:>10.1f} ms")
        for name, args in queries(user):
            wrapper = [str(wrappers / name), *args]
            via_sudo, worst = median_ms([SUDO, "-n", *wrapper], options.runs, account)
            direct, _ = median_ms(wrapper, options.runs)
            label = " ".join([name, *("USER" for _ in args)])
            met = "met" if via_sudo < TARGET_MS else "NOT met"
            print(
                f"{label:<32}{via_sudo:>17.1f} ms{worst:>7.1f}{direct:>10.1f} ms"
                f"{via_sudo - direct:>8.1f} ms  < {TARGET_MS} ms CPU: {met}",
                flush=True,
            )
        print("python3 -IB -X importtime lvdisplay.py (as root), top level by cumulative time:")
        print(f"{'cumulative us':>14}{'self us':>9}  module")
        for cumulative, own, module in import_times(wrappers / "lvdisplay.py"):
            print(f"{cumulative:>14}{own:>9}  {module}")
        print("(site: the interpreter's start, .pth files of the host included)")
    finally:
        deployment.destroy(installation)


if __name__ == "__main__":
    main()
