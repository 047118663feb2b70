"""Larger system tables for the benchmarks, without touching the host's.

A wrapper is run in a mount namespace of its own where /etc/passwd is a
copy holding extra accounts and the mount table holds extra bind mounts:
the cost of an account database of 10,000 and of 1,000 mounts shows, while
nothing else on the machine sees either, and both vanish with the process
(nothing to clean up, even after a kill). The copy of the host's mounts
the namespace starts with lets go of every loop-backed volume but the
bench's own, so no other session's volume stays busy meanwhile. Making 10,000 real accounts with
useradd would take most of an hour and rewrite the host's account files
while other sessions use them.
"""

import ctypes
import os
import subprocess
import time
from pathlib import Path

CLONE_NEWNS = 0x00020000
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2
# Padding accounts' uids: above the wrappers' and the tests' ranges.
PADDING_UID = 300000
NOGROUP_GID = 65534
SYSTEM_UID_END = 1000


def padded_passwd(directory: Path, total: int) -> Path:
    """A copy of /etc/passwd grown to total entries with accounts of no
    managed group (as a company's other accounts are), placed after the
    system accounts and before every other: getpwnam reads the file from
    the top and stops at its match, so every backup account is found only
    past all of them, as in a company whose backup accounts came later."""
    lines = Path("/etc/passwd").read_text().splitlines()
    system = [line for line in lines if int(line.split(":")[2]) < SYSTEM_UID_END]
    others = [line for line in lines if int(line.split(":")[2]) >= SYSTEM_UID_END]
    extra = [
        f"bpad{index:05d}:x:{PADDING_UID + index}:{NOGROUP_GID}::/nonexistent:/usr/sbin/nologin"
        for index in range(max(0, total - len(lines)))
    ]
    path = directory / "passwd"
    path.write_text("\n".join([*system, *extra, *others]) + "\n")
    os.chmod(path, 0o644)
    return path


def _mount(libc, source, target, flags):
    if libc.mount(source, target, None, flags, None) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), target)


def _loop_mounts_outside(keep: str) -> list[bytes]:
    """Mount points of loop-backed filesystems not under keep, deepest first."""
    points = []
    with open("/proc/self/mountinfo", "rb") as mountinfo:
        for line in mountinfo:
            fields = line.split()
            source = fields[fields.index(b"-") + 2]
            point = fields[4].replace(b"\\040", b" ")
            if source.startswith(b"/dev/loop") and not point.startswith(keep.encode() + b"/"):
                points.append(point)
    return sorted(points, key=len, reverse=True)


def _enter(passwd: Path | None, mount_points: list[str], empty: str, keep: str):
    def setup():
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(CLONE_NEWNS) != 0:
            raise OSError(ctypes.get_errno(), "unshare")
        # Nothing mounted here propagates back to the host.
        _mount(libc, None, b"/", MS_REC | MS_PRIVATE)
        # The new namespace holds a copy of every mount on the host: other
        # sessions' loop-backed volumes would stay busy (their unmount and
        # loop detach refused) while the wrapper runs. Let go of them.
        for point in _loop_mounts_outside(keep):
            libc.umount2(point, MNT_DETACH)
        if passwd is not None:
            _mount(libc, os.fsencode(passwd), b"/etc/passwd", MS_BIND)
        for point in mount_points:
            _mount(libc, os.fsencode(empty), os.fsencode(point), MS_BIND)

    return setup


def mount_table_size() -> int:
    with open("/proc/self/mountinfo") as mountinfo:
        return sum(1 for _ in mountinfo)


class Tables:
    """Where a wrapper is run with an account database of `accounts`
    entries (0: the host's) and `mounts` extra mounts (0: none)."""

    def __init__(self, scratch: Path, accounts: int = 0, mounts: int = 0):
        scratch.mkdir(parents=True, exist_ok=True)
        self.passwd = padded_passwd(scratch, accounts) if accounts else None
        empty = scratch / "empty"
        empty.mkdir(exist_ok=True)
        self.empty = str(empty)
        self.points = []
        for index in range(mounts):
            point = scratch / f"pad{index:05d}"
            point.mkdir(exist_ok=True)
            self.points.append(str(point))

    def _call(self, argv, keep):
        start = time.perf_counter()
        result = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=3600,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
            preexec_fn=_enter(self.passwd, self.points, self.empty, keep),
            check=False,
        )
        return time.perf_counter() - start, result

    def setup_seconds(self, keep: str) -> float:
        """What entering the namespace costs (the extra mounts made), measured
        on /bin/true: run() takes it off its figure."""
        return sorted(self._call(["/bin/true"], keep)[0] for _ in range(3))[1]

    def run(self, install, name: str, *args: str) -> tuple[float, subprocess.CompletedProcess]:
        """(seconds, result) of one wrapper call in the namespace, less the
        set-up of the namespace itself."""
        keep = str(install.base)
        overhead = self.setup_seconds(keep)
        seconds, result = self._call([str(install.path / name), *args], keep)
        return max(0.0, seconds - overhead), result
