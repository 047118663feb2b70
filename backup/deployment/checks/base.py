"""What every server check shares: the message helpers, the Context
(who the checks are made for) and how wrappers and commands are found and run."""

import importlib.util
import json
import os
import pwd
import stat
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core import checks as django_checks

from backup.privileged.client import CLEAN_ENV, SEARCH_DIRS, last_line

GIB = 1024**3

SUDO_TIMEOUT_SECONDS = 10

WRAPPER_TIMEOUT_SECONDS = 60

INSTALL_HINT = "sudo bin/install fixes this"

TAG = "prerequisites"

STATUS = {django_checks.INFO: "OK  ", django_checks.WARNING: "WARN"}


def ok(name, message):
    return django_checks.Info(message, obj=name, id=f"{TAG}.ok")


def warn(name, message):
    return django_checks.Warning(message, obj=name, id=f"{TAG}.warning")


def fail(name, message):
    return django_checks.Error(message, obj=name, id=f"{TAG}.failed")


def line(message):
    """How check_prerequisities prints one check's outcome; a warning or a
    failure ends with its id, which is what an admin silences it by."""
    text = f"{STATUS.get(message.level, 'FAIL')} {message.obj}: {message.msg}"
    if message.level >= django_checks.WARNING and (message.id or "").startswith("backup."):
        text += f" [{message.id}]"
    return text


@cache
def _installer():
    """bin/installer.py, the one definition of what a wrapper is. It is plain
    standard-library Python outside the Django package, loaded by path."""
    path = Path(settings.BASE_DIR) / "bin" / "installer.py"
    spec = importlib.util.spec_from_file_location("backup_installer", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} can't be loaded")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Context:
    """Who the checks are made for, and how to run things as them."""

    user: pwd.struct_passwd
    groups: frozenset
    wrapper_settings: dict | None = None

    @classmethod
    def for_user(cls, name):
        entry = pwd.getpwnam(name)
        return cls(entry, frozenset(os.getgrouplist(name, entry.pw_gid)))

    @property
    def wrappers_path(self):
        return Path(settings.WRAPPERS_PATH)

    def wrapper_names(self):
        """The wrappers the portal needs: every one in the source tree, which
        bin/install copies (it removes any the source no longer has)."""
        return _installer().wrapper_names(Path(settings.BASE_DIR) / "wrappers")

    def run(self, argv, timeout):
        """Run argv as the service user (from root through runuser)."""
        if os.geteuid() == 0 and self.user.pw_uid != 0:
            argv = ["runuser", "-u", self.user.pw_name, "--", *argv]
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=CLEAN_ENV,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    def writable(self, path):
        """Whether the service user may write to path (by its mode bits)."""
        info = os.stat(path)
        if self.user.pw_uid == 0:
            return True
        if info.st_uid == self.user.pw_uid:
            return bool(info.st_mode & stat.S_IWUSR)
        if info.st_gid in self.groups:
            return bool(info.st_mode & stat.S_IWGRP)
        return bool(info.st_mode & stat.S_IWOTH)


def _which(name):
    for directory in SEARCH_DIRS:
        path = os.path.join(directory, name)
        if os.access(path, os.X_OK):
            return path
    return None


def _run_wrapper(context, wrapper):
    path = str(context.wrappers_path / wrapper)
    argv = [path] if context.user.pw_uid == 0 else ["sudo", "-n", path]
    return context.run(argv, WRAPPER_TIMEOUT_SECONDS)


def _wrapper_settings(context):
    """The wrappers' settings, asked once per run (two checks need them)."""
    if context.wrapper_settings is None:
        completed = _run_wrapper(context, "wrapper-settings.py")
        if completed.returncode != 0:
            raise OSError(f"wrapper-settings.py: {last_line(completed.stderr)}")
        context.wrapper_settings = json.loads(completed.stdout)
    return context.wrapper_settings
