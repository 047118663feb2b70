"""The server checks behind ``manage.py check_prerequisities``.

They are Django system checks, in a registry of their own under the tag
``prerequisites``: they ask sudo, the wrappers and the disks, so they run
when check_prerequisities asks for them, never on every manage.py command.
The settings are checked by Django's own ``check --deploy``, which
check_prerequisities runs first.

Each check is a small function taking the Context and returning one
message: Info (printed OK) with what it found, Error (FAIL) with what is
wrong and how to fix it, or Warning (WARN). Checks about privileges are made
from the service user's point of view: run as that user (as the original
README did), or as root, in which case sudo is tried through
``runuser -u <service user>``.
"""

import contextlib
import contextvars
import errno
import importlib.util
import json
import os
import pwd
import re
import secrets
import stat
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import posix1e
from django.conf import settings
from django.core import checks as django_checks
from django.core.checks.registry import CheckRegistry
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from backup.privileged.client import CLEAN_ENV, SEARCH_DIRS, last_line
from backup.samba import config as samba_config

GIB = 1024**3
SUDO_TIMEOUT_SECONDS = 10
WRAPPER_TIMEOUT_SECONDS = 60
INSTALL_HINT = "sudo bin/install fixes this"
TAG = "prerequisites"
PREREQUISITES = CheckRegistry()

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


STATUS = {django_checks.INFO: "OK  ", django_checks.WARNING: "WARN"}


def ok(name, message):
    return django_checks.Info(message, obj=name, id=f"{TAG}.ok")


def warn(name, message):
    return django_checks.Warning(message, obj=name, id=f"{TAG}.warning")


def fail(name, message):
    return django_checks.Error(message, obj=name, id=f"{TAG}.failed")


def line(message):
    """How check_prerequisities prints one check's outcome."""
    return f"{STATUS.get(message.level, 'FAIL')} {message.obj}: {message.msg}"


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


# --- The machine ---------------------------------------------------------------


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


def _run_wrapper(context, wrapper):
    path = str(context.wrappers_path / wrapper)
    argv = [path] if context.user.pw_uid == 0 else ["sudo", "-n", path]
    return context.run(argv, WRAPPER_TIMEOUT_SECONDS)


def volume_group(context):
    """The pool (LVM volume group, or loop-file pool) exists and has room for
    at least one volume of the default size."""
    name = "volume group"
    try:
        completed = _run_wrapper(context, "vgdisplay.py")
    except subprocess.TimeoutExpired:
        return fail(name, "vgdisplay.py did not answer: check the storage (lvs, vgs)")
    if completed.returncode != 0:
        return fail(
            name,
            f"{last_line(completed.stderr)}: create the volume group "
            "(pvcreate /dev/sdX && vgcreate backupdisks /dev/sdX) or set BACKEND, "
            f"VOLUME_GROUP or LOOPFILE_POOL in {context.wrappers_path}/local_settings.py",
        )
    try:
        pool = json.loads(completed.stdout)
        free_gib = pool["free_bytes"] / GIB
        size_gib = pool["size_bytes"] / GIB
    except (ValueError, KeyError, TypeError):
        return fail(name, "vgdisplay.py printed something unexpected: reinstall the wrappers")
    what = f"{pool.get('backend')} pool {pool.get('name')}"
    if free_gib < settings.DEFAULT_DISK_SIZE:
        return fail(
            name,
            f"{what} has {free_gib:.0f} GiB free, less than one default volume "
            f"({settings.DEFAULT_DISK_SIZE} GiB): add a disk (vgextend) or lower "
            "default_disk_size in the config file",
        )
    return ok(name, f"{what}: {size_gib:.0f} GiB, {free_gib:.0f} GiB free")


def directories_root_acls(context):
    name = "DIRECTORIES_ROOT"
    root = Path(settings.DIRECTORIES_ROOT)
    problem = _missing_directory(root, context)
    if problem:
        return fail(name, problem)
    try:
        # Reading an ACL succeeds even without ACL support (libacl falls back
        # to the mode); the raw attribute tells the two apart.
        try:
            os.getxattr(root, "system.posix_acl_access")
        except OSError as error:
            if error.errno != errno.ENODATA:
                raise
        if os.access(root, os.W_OK):
            _acl_round_trip(root)
    except OSError as error:
        return fail(
            name,
            f"ACLs don't work on {root} ({error.strerror}): put it on a filesystem with "
            "ACLs (ext4, btrfs and xfs have them on by default)",
        )
    return ok(name, f"{root} exists, ACLs work")


def _acl_round_trip(root):
    """Set and read back a named-user ACL entry on a scratch file."""
    probe = root / f".acl-probe-{secrets.token_hex(4)}"
    probe.touch(mode=0o600)
    try:
        acl = posix1e.ACL(text=f"u::rw-,u:{os.geteuid()}:r--,g::---,m::r--,o::---")
        acl.applyto(str(probe))
        if not posix1e.has_extended(str(probe)):
            raise OSError(0, "an ACL set on a file was not read back")
    finally:
        probe.unlink()


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


def _wrapper_settings(context):
    """The wrappers' settings, asked once per run (two checks need them)."""
    if context.wrapper_settings is None:
        completed = _run_wrapper(context, "wrapper-settings.py")
        if completed.returncode != 0:
            raise OSError(f"wrapper-settings.py: {last_line(completed.stderr)}")
        context.wrapper_settings = json.loads(completed.stdout)
    return context.wrapper_settings


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


SSHD_CONFIGS = (Path("/etc/ssh/sshd_config"), Path("/etc/ssh/sshd_config.d"))


def refuses_passwords_for(group, texts):
    """Whether sshd configuration texts hold a ``Match Group`` block for group
    that turns password and keyboard-interactive logins off (as
    deploy/sshd/backupmanagement.conf does)."""
    for text in texts:
        matched, off = False, set[str]()
        for raw in text.splitlines():
            words = raw.split("#", 1)[0].split()
            if not words:
                continue
            keyword = words[0].lower()
            if keyword == "match":
                if matched and {"passwordauthentication", "kbdinteractiveauthentication"} <= off:
                    return True
                matched = [word.lower() for word in words[1:3]] == ["group", group.lower()]
                off = set()
            elif matched and len(words) > 1 and words[1].lower() == "no":
                off.add(keyword)
        if matched and {"passwordauthentication", "kbdinteractiveauthentication"} <= off:
            return True
    return False


def sshd_refuses_backup_accounts(context):
    """Backup accounts have a real Unix password (for AFP): sshd must not
    accept it. A warning, not a failure: the shell is nologin either way."""
    name = "sshd"
    if _which("sshd") is None:
        return ok(name, "not installed: backup accounts can't log in over SSH")
    try:
        group = _wrapper_settings(context).get("managed_group", "backupusers")
    except (OSError, ValueError):
        group = "backupusers"
    texts = []
    for location in SSHD_CONFIGS:
        files = sorted(location.glob("*.conf")) if location.is_dir() else [location]
        for path in files:
            with contextlib.suppress(OSError):
                texts.append(path.read_text())
    if refuses_passwords_for(group, texts):
        return ok(name, f"password logins are off for group {group}")
    return warn(
        name,
        f"sshd may accept the backup accounts' passwords (group {group}): copy "
        "deploy/sshd/backupmanagement.conf to /etc/ssh/sshd_config.d/ and reload sshd",
    )


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


def _missing_directory(path, context):
    """Why path is not a directory the service user can reach, or None."""
    try:
        if stat.S_ISDIR(os.stat(path).st_mode):
            return None
        return f"{path} is not a directory: remove it, then {INSTALL_HINT}"
    except FileNotFoundError:
        return f"{path} does not exist: {INSTALL_HINT}"
    except PermissionError:
        return (
            f"{context.user.pw_name} cannot reach {path}: make its parent directories "
            "traversable (chmod o+x)"
        )


def _writable_directory(name, path, context):
    directory = Path(path)
    problem = _missing_directory(directory, context)
    if problem:
        return fail(name, problem)
    if not context.writable(directory):
        return fail(
            name,
            f"{directory} is not writable by {context.user.pw_name}: "
            f"chown {context.user.pw_name} {directory} ({INSTALL_HINT})",
        )
    return ok(name, f"{directory} writable by {context.user.pw_name}")


def rrd_directory(context):
    return _writable_directory("RRD directory", settings.RRD_DIRECTORY, context)


def database(context):
    path = Path(str(settings.DATABASES["default"]["NAME"]))
    result = _writable_directory("database", path.parent, context)
    if result.is_serious():
        return result
    if not path.exists():
        # Opening it here would create it, owned by whoever runs the check.
        return fail("database", f"{path} does not exist: run migrate ({INSTALL_HINT})")
    if not context.writable(path):
        return fail(
            "database",
            f"{path} is not writable by {context.user.pw_name}: "
            f"chown {context.user.pw_name} {path}",
        )
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        return fail("database", f"{len(pending)} migrations not applied: run migrate")
    return ok("database", f"{path} up to date")


def static_files(context):
    root = Path(settings.STATIC_ROOT)
    if not (root / "admin").is_dir():
        return fail("static files", f"{root} is not collected: run collectstatic ({INSTALL_HINT})")
    return ok("static files", f"collected in {root}")


CHECKS = (
    service_user,
    executables,
    wrappers_root_owned,
    sudo_wrappers,
    env_reset,
    volume_group,
    directories_root_acls,
    samba_share,
    samba_vfs_modules,
    samba_version,
    samba_passdb_agrees,
    sshd_refuses_backup_accounts,
    rrd_directory,
    database,
    static_files,
)


def service_user_name():
    return settings.SERVICE_USER


_context: contextvars.ContextVar["Context"] = contextvars.ContextVar("prerequisites_context")


def _as_django_check(position, function):
    """function(context) -> message, as a check in the PREREQUISITES registry
    (Django's checks take no arguments of ours: the context travels in a
    context variable that run_all sets)."""

    def check(app_configs=None, **kwargs):
        try:
            message = function(_context.get())
        except Exception as error:  # noqa: BLE001 (one line per check, whatever happens)
            message = fail(function.__name__, f"the check itself failed ({error!r}): report this")
        message.position = position
        return [message]

    check.__name__ = function.__name__
    return check


for _position, _function in enumerate(CHECKS):
    PREREQUISITES.register(_as_django_check(_position, _function), TAG)


def settings_checked():
    """Django's own deployment checks (DEBUG, SECRET_KEY, ALLOWED_HOSTS,
    HTTPS…), as one line, or one FAIL line per problem."""
    found = [
        message
        for message in django_checks.run_checks(include_deployment_checks=True)
        if message.level >= django_checks.WARNING and not message.is_silenced()
    ]
    if not found:
        return [ok("settings", "check --deploy found no issues")]
    return [fail("settings", f"{message.id}: {message.msg}") for message in found]


def run_all(context):
    """The settings, then every server check, in order; one message each."""
    token = _context.set(context)
    try:
        found = PREREQUISITES.run_checks(tags=[TAG])
    finally:
        _context.reset(token)
    # Django runs a registry's checks in no set order; print them in ours.
    found.sort(key=lambda message: getattr(message, "position", 0))
    return settings_checked() + found
