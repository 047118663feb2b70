"""Accounts, processes and the commands the installer runs."""

import contextlib
import grp
import os
import pwd
import signal
import subprocess
import time

from .layout import InstallError
from .paths import PATH, REPO


def run(argv, **kwargs):
    completed = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env={"PATH": PATH, "LANG": "C.UTF-8"},
        check=False,
        **kwargs,
    )
    if completed.returncode != 0:
        raise InstallError(f"{' '.join(argv)} failed: {completed.stderr.strip()}")
    return completed


def group_exists(name):
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def uid_of(name):
    """The account's uid, or None when there is no such account."""
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def shell_of(name):
    """The account's login shell (it must exist)."""
    return pwd.getpwnam(name).pw_shell


def ids_of(owner, group):
    return pwd.getpwnam(owner).pw_uid, grp.getgrnam(group).gr_gid


def as_user(layout, argv, umask=0o027, **env):
    environment = {
        "PATH": PATH,
        "HOME": str(layout.home),
        "LANG": "C.UTF-8",
        "DJANGO_SETTINGS_MODULE": "backup.settings.production",
        "BACKUP_CONFIG": str(layout.config),
        "PYTHONDONTWRITEBYTECODE": "1",
        **env,
    }
    return subprocess.run(
        ["runuser", "-u", layout.user, "--", *argv],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        umask=umask,
        check=False,
    )


# --- The service user's processes and crontab ----------------------------


def processes_of(uid):
    """{pid: command name} of every process running with uid as its real,
    effective, saved or filesystem user id."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            status = _status(entry.name)
            if uid in status["uids"]:
                found[int(entry.name)] = status["name"]
    return found


def _status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    uids = [int(uid) for uid in fields["Uid"].split()]
    return {"name": fields["Name"], "uids": set(uids), "euid": uids[1]}


def stop_processes(uid, grace_seconds=30, wrapper_seconds=120):
    """SIGTERM every process of uid, SIGKILL those left after the grace
    period; {pid: name} of what was stopped. Through pidfds, so a pid that
    ended and was reused by someone else's process is never signalled.

    A process of uid running as root (sudo and the wrapper it started) is
    not signalled, since sudo would relay the signal into the middle of a
    wrapper's operation: it is waited for, up to ``wrapper_seconds``."""
    stopped = {}
    handles = {}
    wrappers = []
    for pid, name in processes_of(uid).items():
        try:
            handle = os.pidfd_open(pid)
            # Checked after the pidfd pins the process, not before.
            status = _status(pid)
        except OSError:
            continue
        if uid not in status["uids"]:
            os.close(handle)
        elif status["euid"] == 0:
            os.close(handle)
            wrappers.append(pid)
        else:
            handles[pid] = handle
            stopped[pid] = name
    try:
        for handle in handles.values():
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(handle, signal.SIGTERM)
        _wait(lambda: any(_alive(pid) for pid in handles), grace_seconds)
        for pid, handle in handles.items():
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    signal.pidfd_send_signal(handle, signal.SIGKILL)
        # Until their parents have reaped them too: userdel counts zombies.
        _wait(lambda: any(_exists(pid) for pid in handles), 10)
        _wait(lambda: any(_exists(pid) for pid in wrappers), wrapper_seconds)
    finally:
        for handle in handles.values():
            os.close(handle)
    return stopped


def _wait(condition, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and condition():
        time.sleep(0.05)


def _alive(pid):
    """Still running (a zombie, whose parent has not reaped it yet, has
    stopped: it holds nothing and userdel accepts it)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _exists(pid):
    return os.path.exists(f"/proc/{pid}")


def has_crontab(user):
    listed = subprocess.run(
        ["crontab", "-u", user, "-l"],
        capture_output=True,
        env={"PATH": PATH},
        check=False,
    )
    return listed.returncode == 0


def remove_crontab(user):
    run(["crontab", "-u", user, "-r"])


def root_crontab_lines_naming(directory):
    """Lines of root's crontab that run something in directory (the README's
    @reboot mount.py): the uninstaller names them; root's crontab is the
    admin's to edit."""
    listed = subprocess.run(
        ["crontab", "-l"], capture_output=True, text=True, env={"PATH": PATH}, check=False
    )
    if listed.returncode != 0:
        return []
    return [line for line in listed.stdout.splitlines() if f"{directory}/" in line]
