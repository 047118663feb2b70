"""Account helpers for tests: unique names, accounts outside the managed
group, password checks against /etc/shadow, and a snapshot of what the
wrappers could change on the host (to show a refusal changed nothing)."""

import contextlib
import ctypes
import grp
import os
import pwd
import secrets
import subprocess
from pathlib import Path

from . import wrapper_install

NOGROUP = "nogroup"


def unique_name(prefix="bma"):
    return f"{prefix}{secrets.token_hex(4)}"


def exists(name):
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def userdel(name):
    subprocess.run(["userdel", "--", name], check=False, capture_output=True)


@contextlib.contextmanager
def outsider(uid=None, group=NOGROUP, system=False):
    """An account that is not a backup account, removed afterwards.

    By default in group nogroup (with uid, inside the managed uid range if
    asked); system=True with a managed group makes a member of that group
    with a system uid.
    """
    name = unique_name("bmo")
    argv = ["useradd", "-M", "-N", "-l", "-g", group, "-s", "/usr/sbin/nologin"]
    if uid is not None:
        argv += ["-u", str(uid)]
    if system:
        argv.append("-r")
    subprocess.run([*argv, "--", name], check=True, capture_output=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        userdel(name)


def free_uid(low, high):
    taken = {entry.pw_uid for entry in pwd.getpwall()}
    for uid in range(high, low - 1, -1):
        if uid not in taken:
            return uid
    raise RuntimeError(f"no free uid in {low}..{high}")


def create_backup_account(install, name=None):
    """A backup account made by the real useradd.py; returns its name."""
    name = name or unique_name()
    result = install.run("useradd.py", name)
    assert result.returncode == 0, result.stderr
    return name


def remove_backup_account(install, name):
    """Remove an account a test made, with its Samba entry, if still there."""
    subprocess.run(
        ["pdbedit", "-s", install.settings["SAMBA_CONFIG"], "-x", "-u", name],
        check=False,
        capture_output=True,
    )
    userdel(name)


def shadow_hash(name):
    for line in Path("/etc/shadow").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return fields[1]
    raise KeyError(name)


def _libcrypt():
    library = ctypes.CDLL("libcrypt.so.1")
    library.crypt.restype = ctypes.c_char_p
    library.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    return library


def unix_password_matches(name, password):
    """Whether password opens name's /etc/shadow hash (libcrypt, as PAM does)."""
    stored = shadow_hash(name)
    if not stored.startswith("$"):
        return False  # "!" or "*": no password login at all
    computed = _libcrypt().crypt(password.encode(), stored.encode())
    return computed is not None and computed.decode() == stored


def samba_entries(install):
    """{name: smbpasswd-format line (hashes, flags)} of the session's passdb."""
    listing = subprocess.run(
        ["pdbedit", "-s", install.settings["SAMBA_CONFIG"], "-L", "-w"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {line.split(":", 1)[0]: line for line in listing.splitlines() if ":" in line}


def _account_lines(path, names):
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return []
    return sorted(line for line in text.splitlines() if line.split(":", 1)[0] in names)


def _files_under(base, skip):
    files = {}
    for directory, subdirectories, names in os.walk(base):
        subdirectories[:] = [d for d in subdirectories if Path(directory, d) not in skip]
        for name in [*names, *subdirectories]:
            path = Path(directory, name)
            info = os.lstat(path)
            files[str(path)] = (
                info.st_mode,
                info.st_uid,
                info.st_gid,
                info.st_size,
                info.st_mtime_ns,
            )
    return files


def host_state(install, names=()):
    """What a wrapper could change, limited to what this session owns.

    Accounts: passwd/shadow/subuid/subgid lines of the managed group's
    members and of names (e.g. outsiders), and the managed group's line. Files: everything
    under the install base except Samba's own databases and running
    servers (the passdb is compared through pdbedit instead). Loop devices
    and mounts backed by or under the base.
    """
    managed = set(install.managed_accounts()) | set(names)
    samba = Path(install.settings["SAMBA_CONFIG"]).parent
    skip = {samba / sub for sub in ("private", "state", "cache", "lock", "pid", "log", "servers")}
    return {
        "passwd": _account_lines("/etc/passwd", managed),
        "shadow": _account_lines("/etc/shadow", managed),
        "group": _account_lines("/etc/group", {install.group}),
        "subuid": _account_lines("/etc/subuid", managed),
        "subgid": _account_lines("/etc/subgid", managed),
        "group_exists": _group_exists(install.group),
        "files": _files_under(install.base, skip),
        "leftovers": wrapper_install.leftovers(install),
        "passdb": samba_entries(install),
    }


def _group_exists(name):
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


@contextlib.contextmanager
def settings_override(install, **overrides):
    """The session's local_settings.py with overrides, restored afterwards."""
    install.write_local_settings(**overrides)
    try:
        yield
    finally:
        install.write_local_settings()


@contextlib.contextmanager
def tmpfs_volume(install, name):
    """A small tmpfs mounted at name's mount point (made by mkdir.py), owned
    by name with mode 0700, as chown.py/chmod.py leave a real volume; a
    stand-in volume for wrappers that only need one mounted."""
    result = install.run("mkdir.py", name)
    assert result.returncode == 0, result.stderr
    path = Path(install.settings["DIRECTORIES_ROOT"]) / name
    entry = pwd.getpwnam(name)
    try:
        subprocess.run(
            [
                "mount",
                "-t",
                "tmpfs",
                "-o",
                f"size=16m,nodev,nosuid,noexec,mode=0700,uid={entry.pw_uid},gid={entry.pw_gid}",
                "tmpfs",
                str(path),
            ],
            check=True,
            capture_output=True,
        )
        try:
            yield path
        finally:
            subprocess.run(["umount", str(path)], check=True, capture_output=True)
    finally:
        path.rmdir()


def changes(before, after):
    """What differs between two host_state snapshots, readably (empty: none)."""
    found = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            for item in sorted(set(old) | set(new)):
                if old.get(item) != new.get(item):
                    found.append(f"{key}: {item}: {old.get(item)!r} -> {new.get(item)!r}")
        else:
            found.append(f"{key}: {old!r} -> {new!r}")
    return found
