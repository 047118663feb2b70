"""Helpers for the storage tests: backup accounts, wrapper calls that must
succeed or be refused, and what one user's volume leaves on the host."""

import contextlib
import grp
import json
import os
import pwd
import random
import secrets
import subprocess
from pathlib import Path

from support import wrapper_install

GIB = 1 << 30


def _free_uid(wrappers):
    used = {entry.pw_uid for entry in pwd.getpwall()}
    low, high = wrappers.settings["ACCOUNT_UID_MIN"], wrappers.settings["ACCOUNT_UID_MAX"]
    while True:
        uid = random.randint(low, high)
        if uid not in used:
            return uid


@contextlib.contextmanager
def backup_account(wrappers, suffix=""):
    """A new backup account in the session's managed group, deleted afterwards."""
    name = f"bmt{secrets.token_hex(4)}{suffix}"
    try:
        if (wrappers.path / "useradd.py").exists():
            ok(wrappers, "useradd.py", name)
        else:
            gid = grp.getgrnam(wrappers.group).gr_gid
            subprocess.run(
                ["useradd", "-M", "-N", "-g", str(gid), "-u", str(_free_uid(wrappers)),
                 "-s", "/usr/sbin/nologin", name],
                check=True, capture_output=True,
            )  # fmt: skip
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], capture_output=True, check=False)


def ok(wrappers, name, *args):
    """Run a wrapper that must succeed; its JSON result."""
    result = wrappers.run(name, *args)
    assert result.returncode == 0, f"{name} {args}: {result.stderr}"
    return json.loads(result.stdout) if result.stdout.strip() else None


def refused(wrappers, name, *args):
    """Run a wrapper that must refuse; its one-line reason."""
    result = wrappers.run(name, *args)
    assert result.returncode == wrapper_install.WRAPPER_EXIT_REFUSED, (
        f"{name} {args} was not refused: rc={result.returncode} {result.stdout}{result.stderr}"
    )
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{name}: refused: "), result.stderr
    return lines[0]


def image(wrappers, user):
    return Path(wrappers.settings["LOOPFILE_POOL"]) / f"{user}.img"


def mount_point(wrappers, user):
    return Path(wrappers.settings["DIRECTORIES_ROOT"]) / user


def loops_of(path):
    """Loop devices backed by path, from sysfs."""
    devices = []
    for entry in Path("/sys/block").glob("loop*"):
        try:
            backing = (entry / "loop" / "backing_file").read_text().strip()
        except OSError:
            continue
        if backing == str(path):
            devices.append(f"/dev/{entry.name}")
    return sorted(devices)


def mount_options(path):
    """The mount options at path, or None when nothing is mounted there."""
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            fields = line.split()
            if fields[4] == str(path):
                return set(fields[5].split(","))
    return None


def state(wrappers, user):
    """Everything about user's volume that a refused call must leave as it was."""
    path = image(wrappers, user)
    point = mount_point(wrappers, user)
    info = path.stat() if path.exists() else None
    return {
        "image_size": info.st_size if info else None,
        "loops": loops_of(path),
        "mounted": mount_options(point) is not None,
        "mount_point": os.path.isdir(point),
        "mount_point_stat": _stat_summary(point),
        "pool": sorted(os.listdir(wrappers.settings["LOOPFILE_POOL"])),
        "session": {
            key: value
            for key, value in wrapper_install.leftovers(wrappers).items()
            if key != "accounts"
        },
    }


def _stat_summary(path):
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    return (info.st_mode, info.st_uid, info.st_gid, info.st_dev, info.st_ino)


def clean_volume(wrappers, user):
    """Remove whatever user's volume left, through the wrappers first, then
    by hand (only that user's paths) if a failed test left them half-done."""
    for name in ("umount.py", "lvremove.py", "rmdir.py"):
        wrappers.run(name, user)
    point, path = mount_point(wrappers, user), image(wrappers, user)
    if mount_options(point) is not None:
        subprocess.run(["umount", "-l", str(point)], capture_output=True, check=False)
    for device in loops_of(path):
        subprocess.run(["losetup", "--detach", device], capture_output=True, check=False)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    if point.is_symlink() or point.is_file():
        point.unlink()
    with contextlib.suppress(FileNotFoundError, OSError):
        point.rmdir()
