"""The machine and the privileges: the service user, the commands the
wrappers run, the wrappers' ownership, sudo's rules for them."""

import contextlib
import os
import pwd
import stat
import subprocess
from pathlib import Path

import posix1e
from django.conf import settings

from backup.privileged.client import CLEAN_ENV, last_line

from .base import INSTALL_HINT, SUDO_TIMEOUT_SECONDS, _which, fail, ok

# Commands the wrappers run (wrappers/wrapperlib), by what needs them.
COMMON_EXECUTABLES = (
    "sudo", "mount", "blkid", "losetup", "lvcreate", "vgs", "useradd", "userdel", "chpasswd",
    "smbpasswd", "pdbedit", "testparm",
)  # fmt: skip

FILESYSTEM_EXECUTABLES = {
    "ext4": ("mkfs.ext4", "resize2fs", "e2fsck"),
    "btrfs": ("mkfs.btrfs", "btrfs"),
    "xfs": ("mkfs.xfs", "xfs_growfs"),
}

# Debian packages providing them, for the fix.
PACKAGES = {
    "sudo": "sudo", "mount": "mount", "blkid": "util-linux", "losetup": "mount",
    "lvcreate": "lvm2", "vgs": "lvm2", "useradd": "passwd", "userdel": "passwd",
    "chpasswd": "passwd", "smbpasswd": "samba-common-bin", "pdbedit": "samba",
    "testparm": "samba-common-bin", "mkfs.ext4": "e2fsprogs", "resize2fs": "e2fsprogs",
    "e2fsck": "e2fsprogs", "mkfs.btrfs": "btrfs-progs", "btrfs": "btrfs-progs",
    "mkfs.xfs": "xfsprogs", "xfs_growfs": "xfsprogs",
}  # fmt: skip


def service_user(context):
    me = pwd.getpwuid(os.geteuid()).pw_name
    if os.geteuid() not in (0, context.user.pw_uid):
        return fail(
            "service user",
            f"running as {me}: run as {context.user.pw_name} (sudo -u {context.user.pw_name} …) "
            "or as root, so that its sudo rights are what is checked",
        )
    return ok("service user", f"checking as {context.user.pw_name}")


def executables(context):
    wanted = list(COMMON_EXECUTABLES)
    wanted += FILESYSTEM_EXECUTABLES.get(settings.VOLUME_FILESYSTEM, ())
    missing = [name for name in wanted if _which(name) is None]
    if not os.access("/usr/bin/python3", os.X_OK):
        missing.insert(0, "python3")
    if missing:
        packages = sorted({PACKAGES.get(name, name) for name in missing})
        return fail(
            "executables",
            f"missing {', '.join(missing)}: apt-get install {' '.join(packages)} (or bin/setup)",
        )
    acl = subprocess.run(
        ["/usr/bin/python3", "-I", "-c", "import posix1e"],
        capture_output=True,
        env=CLEAN_ENV,
        check=False,
    )
    if acl.returncode != 0:
        return fail("executables", "the wrappers need pylibacl: apt-get install python3-pylibacl")
    return ok("executables", f"{len(wanted) + 1} commands present, python3 with pylibacl")


def _unsafe_entry(path, info, context):
    if stat.S_ISLNK(info.st_mode):
        return f"{path} is a symlink"
    if info.st_uid != 0:
        return f"{path} is owned by {_user_name(info.st_uid)}, not root"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) or context.writable(path):
        return f"{path} is writable by others than root"
    if posix1e.has_extended(str(path)):
        return f"{path} has an ACL granting more than its mode"
    return None


def _user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _unsafe_ancestor(path, context):
    """An ancestor through which the service user could swap the wrappers."""
    for ancestor in reversed(path.parents):
        info = os.stat(ancestor)
        if info.st_uid == context.user.pw_uid and context.user.pw_uid != 0:
            return f"{ancestor} is owned by {context.user.pw_name}"
        # A sticky directory only lets owners rename their own entries.
        if context.writable(ancestor) and not info.st_mode & stat.S_ISVTX:
            return f"{ancestor} is writable by {context.user.pw_name}"
    return None


def wrappers_root_owned(context):
    """The original README's warning: wrappers the service user can change
    mean a total compromise of the system."""
    name = "wrappers"
    root = context.wrappers_path
    fix = (
        f"chown -R root:root {root} && chmod -R go-rwx {root} ({INSTALL_HINT}; "
        "never install the wrappers under the service user's home)"
    )
    try:
        problem = _unsafe_ancestor(root, context) or _unsafe_entry(root, os.lstat(root), context)
    except FileNotFoundError:
        return fail(name, f"{root} does not exist: {INSTALL_HINT}")
    if problem:
        return fail(name, f"{problem}: {fix}")
    # Walked fully as root. As the service user, a root-owned 0700 directory
    # can't be listed, and what it can't reach it can't change either; if it
    # can pass through without listing, the wrappers it knows of are checked.
    seen = False
    for directory, subdirs, files in os.walk(root):
        for entry in (*subdirs, *files):
            seen = True
            path = Path(directory, entry)
            problem = _unsafe_entry(path, os.lstat(path), context)
            if problem:
                return fail(name, f"{problem}: {fix}")
    if not seen:
        for wrapper in context.wrapper_names():
            with contextlib.suppress(FileNotFoundError, PermissionError):
                problem = _unsafe_entry(root / wrapper, os.lstat(root / wrapper), context)
                if problem:
                    return fail(name, f"{problem}: {fix}")
    return ok(name, f"{root} owned by root, not writable by {context.user.pw_name}")


def sudo_wrappers(context):
    """sudo lets the service user run every wrapper, without a password and
    without hanging (``sudo -n -l <wrapper>`` asks the policy, runs nothing)."""
    name = "sudo"
    refused, hanging = [], []
    names = context.wrapper_names()
    for wrapper in names:
        try:
            listed = context.run(
                ["sudo", "-n", "-l", str(context.wrappers_path / wrapper)], SUDO_TIMEOUT_SECONDS
            )
        except subprocess.TimeoutExpired:
            hanging.append(wrapper)
            continue
        if listed.returncode != 0:
            refused.append(wrapper)
    if hanging:
        return fail(
            name,
            f"sudo hangs for {', '.join(hanging)}: check sudo's name resolution "
            "(the host name in /etc/hosts) and PAM",
        )
    if refused:
        return fail(
            name,
            f"sudo -n refuses {context.user.pw_name}: {', '.join(refused)}: the sudoers entry "
            f"is missing or out of date ({INSTALL_HINT}: /etc/sudoers.d/{context.user.pw_name})",
        )
    return ok(name, f"sudo -n allows all {len(names)} wrappers, no password asked")


def _defaults(listing):
    """The Defaults entries from ``sudo -l`` output."""
    entries, inside = [], False
    for line in listing.splitlines():
        if line.startswith("Matching Defaults entries"):
            inside = True
        elif inside and line.strip():
            entries += [entry.strip() for entry in line.split(", ")]
        elif inside:
            inside = False
    return entries


def env_reset(context):
    name = "env_reset"
    try:
        listed = context.run(["sudo", "-n", "-l"], SUDO_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        return fail(name, "sudo -n -l hangs: check sudo's configuration")
    if listed.returncode != 0:
        return fail(name, f"sudo -n -l failed ({last_line(listed.stderr)}): {INSTALL_HINT}")
    settings_seen = [e for e in _defaults(listed.stdout) if e in ("env_reset", "!env_reset")]
    # The last entry wins; none means sudo's built-in default, which is on.
    if settings_seen and settings_seen[-1] == "!env_reset":
        return fail(
            name,
            "sudo does not reset the environment for the service user: remove "
            "'Defaults !env_reset' from sudoers (visudo)",
        )
    return ok(name, "sudo resets the environment")
