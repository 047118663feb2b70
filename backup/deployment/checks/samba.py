"""Samba: the share exists, its modules are installed, the release can serve
Time Machine, and the wrappers write the passdb the share reads."""

import re
import subprocess
from pathlib import Path

from django.conf import settings

from backup.privileged.client import CLEAN_ENV, last_line
from backup.samba import config as samba_config

from .base import INSTALL_HINT, _which, _wrapper_settings, fail, ok


def samba_share(context):
    name = "Samba"
    config = Path(settings.SAMBA_CONFIG)
    root = Path(settings.DIRECTORIES_ROOT)
    fix = (
        f"add the per-user share of INSTALL.samba.txt (path = {root}/%S) to {config}, "
        "then check with testparm"
    )
    if _which("testparm") is None:
        return fail(name, "testparm is missing: apt-get install samba")
    completed = subprocess.run(
        ["testparm", "-s", str(config)],
        capture_output=True,
        text=True,
        env=CLEAN_ENV,
        timeout=30,
        check=False,
    )
    if completed.returncode != 0:
        return fail(name, f"testparm rejects {config} ({last_line(completed.stderr)}): {fix}")
    section = None
    for line in completed.stdout.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif section and line.startswith("path = ") and line[7:].startswith(f"{root}/"):
            return ok(name, f"share [{section}] serves {line[7:]}")
    return fail(name, f"no share in {config} serves {root}/<user>: {fix}")


def _modules_dir():
    """Where smbd loads its modules from (MODULESDIR in ``smbd -b``)."""
    completed = subprocess.run(
        ["smbd", "-b"], capture_output=True, text=True, env=CLEAN_ENV, timeout=30, check=False
    )
    for entry in completed.stdout.splitlines():
        key, _, value = entry.strip().partition(": ")
        if key == "MODULESDIR":
            return Path(value)
    return None


def samba_vfs_modules(context):
    """Every VFS module the generated share names is installed. Without one
    smbd drops the whole share (clients see NT_STATUS_BAD_NETWORK_NAME), and
    Debian ships them in samba-vfs-modules, only a Recommends of samba."""
    name = "Samba modules"
    if _which("smbd") is None:
        return fail(name, "smbd is missing: apt-get install samba samba-vfs-modules")
    directory = _modules_dir()
    if directory is None:
        return fail(name, "smbd -b names no MODULESDIR: reinstall samba")
    wanted = samba_config.vfs_modules()
    missing = [module for module in wanted if not (directory / "vfs" / f"{module}.so").exists()]
    if missing:
        return fail(
            name,
            f"the share needs the VFS modules {', '.join(missing)}, missing from "
            f"{directory}/vfs: apt-get install samba-vfs-modules (or bin/setup)",
        )
    return ok(name, f"{', '.join(wanted)} installed")


def samba_passdb_agrees(context):
    """The wrappers write passwords into the passdb of their SAMBA_CONFIG,
    and mount volumes at their DIRECTORIES_ROOT: both must be the ones the
    share is served from, or every login fails while all else looks fine."""
    name = "Samba passdb"
    try:
        theirs = _wrapper_settings(context)
    except (OSError, ValueError) as error:
        return fail(
            name, f"could not ask the wrappers for their settings ({error}): {INSTALL_HINT}"
        )
    local = f"{context.wrappers_path}/local_settings.py"
    agreements = (
        ("samba_config", settings.SAMBA_CONFIG, "write passwords to the passdb of",
         "the share is served from"),
        ("directories_root", settings.DIRECTORIES_ROOT, "mount volumes under",
         "the portal and the share use"),
        ("snapshots_root", settings.SNAPSHOTS_ROOT, "mount snapshots under",
         "the share's Previous Versions look in"),
    )  # fmt: skip
    for key, ours, they_do, we_do in agreements:
        if theirs.get(key) != str(ours):
            return fail(
                name,
                f"the wrappers {they_do} {theirs.get(key)}, but {we_do} {ours}: set "
                f"{key.upper()} in {local} or {key} in the config file so that they agree",
            )
    return ok(name, f"the wrappers and the share both use {settings.SAMBA_CONFIG}")


# Samba releases that broke Time Machine on recent macOS (bug 15926: they
# dropped fruit:posix_rename), as (major, minor, first bad, last bad patch).
SAMBA_BROKEN_TIME_MACHINE = ((4, 22, 0, 5), (4, 23, 0, 2))

SAMBA_VERSION = re.compile(r"Version (\d+)\.(\d+)\.(\d+)\S*")


def samba_version_problem(version):
    """Why this Samba (smbd --version's line) can't serve Time Machine, or None."""
    found = SAMBA_VERSION.fullmatch(version.strip())
    if not found:
        return f"unrecognised version line {version.strip()!r}"
    major, minor, patch = (int(part) for part in found.groups())
    for bad_major, bad_minor, first, last in SAMBA_BROKEN_TIME_MACHINE:
        if (major, minor) == (bad_major, bad_minor) and first <= patch <= last:
            return (
                f"Samba {major}.{minor}.{patch} breaks Time Machine on recent macOS "
                f"(Samba bug 15926): upgrade to {major}.{minor}.{last + 1} or later"
            )
    return None


def samba_version(context):
    name = "Samba version"
    smbd = _which("smbd")
    if smbd is None:
        return fail(name, "smbd is missing: apt-get install samba")
    completed = subprocess.run(
        [smbd, "--version"], capture_output=True, text=True, env=CLEAN_ENV, timeout=30, check=False
    )
    version = last_line(completed.stdout)
    if completed.returncode != 0:
        return fail(name, f"smbd --version failed ({last_line(completed.stderr)})")
    problem = samba_version_problem(version)
    if problem:
        return fail(name, problem)
    return ok(name, version.removeprefix("Version "))
