"""Helpers for the snapshot tests: a real volume with the snapshot layout,
the simulated clock (a root-owned wrapper setting), running things as the
backup account, checksums of a tree, and root's early-destruction tool run
at a terminal."""

import ast
import contextlib
import hashlib
import os
import pty
import re
import subprocess
from pathlib import Path

from support.storage import backup_account, clean_volume, mount_options, mount_point, ok


def top_point(wrappers, user):
    return Path(wrappers.settings["SNAPSHOTS_ROOT"]) / user


def snapshot_folder(wrappers, user):
    return top_point(wrappers, user) / "snapshots"


def clean_snapshot_volume(wrappers, user):
    """clean_volume, plus the top level's mount when a failed test left it."""
    wrappers.run("umount.py", user)
    top = top_point(wrappers, user)
    data = mount_point(wrappers, user)
    for point in (data, top):
        if mount_options(point) is not None:
            subprocess.run(["umount", "-l", str(point)], capture_output=True, check=False)
    clean_volume(wrappers, user)
    with contextlib.suppress(FileNotFoundError, OSError):
        top.rmdir()
    with contextlib.suppress(FileNotFoundError):
        top.with_name(f"{user}.conf").unlink()


@contextlib.contextmanager
def volume(wrappers, filesystem="btrfs", gib="1"):
    """A backup account with a mounted, owned volume, as the portal makes
    one; everything removed afterwards (protected snapshots included: the
    removal here is by hand, as root)."""
    with backup_account(wrappers) as entry:
        user = entry.pw_name
        try:
            for wrapper, args in (
                ("lvcreate.py", (gib,)),
                (f"mkfs-{filesystem}.py", ()),
                ("mkdir.py", ()),
                ("mount.py", ()),
                ("chown.py", ()),
                ("chmod.py", ()),
                ("setfacl.py", ()),
            ):
                ok(wrappers, wrapper, user, *args)
            yield entry
        finally:
            clean_snapshot_volume(wrappers, user)


@contextlib.contextmanager
def volume_on_share(wrappers, password, filesystem="btrfs"):
    """A volume with the snapshot layout whose owner can log on to the
    share with password (its Samba passdb entry set)."""
    with volume(wrappers, filesystem) as entry:
        result = wrappers.run("smbpasswd.py", entry.pw_name, input_text=password + "\n")
        assert result.returncode == 0, result.stderr
        yield entry


def _current(wrappers):
    """The settings now in the install's local_settings.py that a running
    private smbd put there (its SAMBA_CONFIG), to keep across clock changes."""
    text = (wrappers.path / "local_settings.py").read_text()
    found = re.search(r"^SAMBA_CONFIG = (.+)$", text, re.M)
    return {"SAMBA_CONFIG": ast.literal_eval(found.group(1))} if found else {}


@contextlib.contextmanager
def clock(wrappers, when, **overrides):
    """The wrappers' clock set to when (YYYY-MM-DDTHH:MM:SSZ), restored after."""
    kept = _current(wrappers)
    wrappers.write_local_settings(**kept, SNAPSHOT_CLOCK=when, **overrides)
    try:
        yield
    finally:
        wrappers.write_local_settings(**kept)


def set_clock(wrappers, when, **overrides):
    wrappers.write_local_settings(**_current(wrappers), SNAPSHOT_CLOCK=when, **overrides)


def as_user(entry, argv, **kwargs):
    """Run argv as the backup account (its uid and gid, no other group)."""
    return subprocess.run(
        argv,
        user=entry.pw_uid,
        group=entry.pw_gid,
        extra_groups=[],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
        **kwargs,
    )


def write_as(entry, path, data):
    """Write bytes at path as the backup account (so ownership is theirs)."""
    result = subprocess.run(
        ["/usr/bin/dd", f"of={path}", "status=none"],
        input=data,
        user=entry.pw_uid,
        group=entry.pw_gid,
        extra_groups=[],
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def checksums(root):
    """{relative path: sha256} of every regular file under root (as root)."""
    found = {}
    root = Path(root)
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory, name)
            if path.is_file() and not path.is_symlink():
                found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def tree_state(root):
    """Names, types, sizes, modes and owners under root: what a refused or
    attempted change must leave as it was."""
    found = {}
    root = Path(root)
    for directory, subdirectories, names in os.walk(root):
        for name in [*subdirectories, *names]:
            path = Path(directory, name)
            info = os.lstat(path)
            found[str(path.relative_to(root))] = (
                info.st_mode,
                info.st_uid,
                info.st_size,
                info.st_ino,
            )
    return found


def mounted_subvolume(path):
    """(root within the filesystem, per-mount and superblock options) of
    what is mounted at path, or None."""
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            fields = line.split()
            if fields[4] == str(path):
                separator = fields.index("-")
                options = set(fields[5].split(",")) | set(fields[separator + 3].split(","))
                return fields[3], options
    return None


def run_tool_at_terminal(wrappers, user, typed):
    """destroy-protected.py with a pseudo-terminal as stdin, typing typed."""
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [str(wrappers.path / "tools" / "destroy-protected.py"), user],
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        )
        os.write(controller, typed.encode() + b"\n")
        out, err = process.communicate(timeout=120)
    finally:
        os.close(controller)
        os.close(terminal)
    return process.returncode, out.decode(), err.decode()
