"""bin/install and bin/uninstall: put the portal in production on this server.

Run as root, on the system Python with the standard library only, and not
part of the Django package: nothing the service user could have written is
imported or run as root. Before it imports or copies anything else, the
installer proves that root alone can change the checkout (see
``untrusted_checkout``).

Idempotent: every step looks first and changes only what differs, printing
one line per change; a run with nothing to change says so. Files an admin
may edit afterwards (the TOML config with its generated SECRET_KEY, the
wrappers' local_settings.py) are written once and then kept.

All paths default to the real ones and move together under --prefix (tests
install into a temporary prefix); the sudoers file is the exception, since
sudo only reads /etc/sudoers.d.
"""

import argparse
import ast
import contextlib
import grp
import json
import os
import pwd
import re
import secrets
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

# Not resolved: a symlinked component must be seen (and refused), not followed.
REPO = Path(os.path.abspath(__file__)).parent.parent
INSTALL_WRAPPERS = REPO / "bin" / "install-wrappers"
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
WRAPPERS_SOURCE = REPO / "wrappers"
PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
# A user name that is also a valid sudoers.d file name (sudo skips names
# containing a dot) and a valid group name.
USER_PATTERN = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
# Paths go into sudoers and TOML unquoted/quoted: keep them plain.
PATH_PATTERN = re.compile(r"/[A-Za-z0-9/._+-]*")
# Parts of a checkout that root never imports, runs or copies: git's data,
# the demo's state (it holds mounted user volumes) and test screenshots.
NOT_INSTALLED = {".git", "var", "test-artifacts"}


def wrapper_names(directory):
    """The wrappers in a wrappers directory: its executable *.py files.

    The one definition of what a wrapper is: the settings files beside them
    are plain (not executable) .py files, and so is anything root-only that
    must never be in sudoers.
    """
    names = []
    for entry in os.scandir(directory):
        if (
            entry.name.endswith(".py")
            and entry.is_file(follow_symlinks=False)
            and entry.stat(follow_symlinks=False).st_mode & stat.S_IXUSR
        ):
            names.append(entry.name)
    return sorted(names)


# --- Whom root may trust ------------------------------------------------------


def _owner_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _unsafe(path, info, *, sticky_ok=False):
    """Why an lstat result means someone but root could change path, or None."""
    if stat.S_ISLNK(info.st_mode):
        return f"{path} is a symbolic link"
    if info.st_uid != 0:
        return f"{path} is owned by {_owner_name(info.st_uid)}, not root"
    # In a sticky directory (/tmp) only an entry's owner may rename or
    # remove it, so a root-owned checkout below one stays root's.
    sticky = sticky_ok and stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_ISVTX
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not sticky:
        return f"{path} is writable by others than root"
    return None


def untrusted_path(path):
    """Why root can't trust path and every directory above it, or None.

    Each component is looked at without following it: a symlinked
    component is refused, since whoever may re-point it decides what root
    reads next time."""
    path = Path(os.path.abspath(path))
    for component in (*reversed(path.parents), path):
        try:
            info = os.lstat(component)
        except OSError as error:
            return f"{component}: {error.strerror}"
        problem = _unsafe(component, info, sticky_ok=component != path)
        if problem:
            return problem
    return None


def untrusted_checkout(repo=None):
    """Why root must not import, run or copy anything from the checkout, or
    None when root alone can change the checkout, every directory above it
    and every file in it (git's data and the demo's state excepted)."""
    repo = Path(repo or REPO)
    problem = untrusted_path(repo)
    if problem:
        return problem
    checked_targets = {}
    for directory, subdirs, files in os.walk(repo):
        if Path(directory) == repo:
            subdirs[:] = [name for name in subdirs if name not in NOT_INSTALLED]
        for name in (*subdirs, *files):
            path = os.path.join(directory, name)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                # The virtualenv links its interpreter to the system's: a link
                # is fine when what it leads to is root's alone.
                target = os.path.realpath(path)
                if target not in checked_targets:
                    checked_targets[target] = untrusted_path(target)
                if checked_targets[target]:
                    return f"{path} leads to {target}: {checked_targets[target]}"
                continue
            problem = _unsafe(path, info)
            if problem:
                return problem
    return None


DEFAULTS = {
    "wrappers_dir": "/opt/backupmanagement/wrappers",
    "config": "/etc/backupmanagement/backup.toml",
    "data_dir": "/var/lib/backupmanagement",
    "log_dir": "/var/log/backupmanagement",
    "static_root": "/var/www/backupmanagement/static",
    "run_dir": "/run/backupmanagement",
    "directories_root": "/srv/userbackup",
    "snapshots_root": "/srv/userbackup-snapshots",
    "tmpfiles_dir": "/etc/tmpfiles.d",
    "logrotate_dir": "/etc/logrotate.d",
}


class InstallError(Exception):
    pass


@dataclass
class Layout:
    """Every path and name the installation uses."""

    user: str
    home: Path
    managed_group: str
    web_group: str
    hostname: str
    allowed_hosts: list
    wrappers_dir: Path
    config: Path
    data_dir: Path
    log_dir: Path
    static_root: Path
    run_dir: Path
    directories_root: Path
    snapshots_root: Path
    tmpfiles_file: Path
    logrotate_file: Path
    sudoers_file: Path
    samba_config: Path
    wrapper_settings: dict = field(default_factory=dict)

    @property
    def rrd_dir(self):
        return self.data_dir / "rrd"

    @property
    def database(self):
        return self.data_dir / "db.sqlite3"

    @property
    def portal_log(self):
        return self.log_dir / "portal.log"


def parser():
    p = argparse.ArgumentParser(
        prog="bin/install",
        description="Install the backup portal for production on this server (as root).",
    )
    p.add_argument("--prefix", default="/", help="install every path under this directory")
    p.add_argument("--user", default="backupmanagement", help="service user (%(default)s)")
    p.add_argument(
        "--home",
        help="service user's home (default: its data directory, never the checkout's parent)",
    )
    p.add_argument("--managed-group", default="backupusers", help="group of the backup accounts")
    p.add_argument(
        "--web-group",
        default="www-data",
        help="the web server's group, which may reach the FastCGI socket (%(default)s)",
    )
    p.add_argument("--hostname", default=None, help="the portal's host name (default: FQDN)")
    p.add_argument(
        "--allowed-host", action="append", default=[], help="another name the portal answers to"
    )
    for name, default in DEFAULTS.items():
        if name not in ("tmpfiles_dir", "logrotate_dir"):
            p.add_argument(f"--{name.replace('_', '-')}", help=f"(default: PREFIX{default})")
    p.add_argument("--sudoers-file", help="(default: /etc/sudoers.d/USER, never prefixed)")
    p.add_argument("--samba-config", default="/etc/samba/smb.conf", help="(%(default)s)")
    p.add_argument("--backend", choices=("lvm", "loopfile"), help="storage backend")
    p.add_argument("--volume-group", help="LVM volume group (lvm backend)")
    p.add_argument("--loopfile-pool", help="directory of the images (loopfile backend)")
    p.add_argument(
        "--print-sudoers",
        action="store_true",
        help="only print the sudoers entry for the wrappers in the source tree",
    )
    p.add_argument(
        "--wrappers-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="another wrapper setting, VALUE a Python literal (repeatable)",
    )
    return p


def _prefixed(prefix, path):
    return Path(prefix) / str(path).lstrip("/")


def layout_from(args):
    if not USER_PATTERN.fullmatch(args.user):
        raise InstallError(f"invalid user name {args.user!r}")
    for group in (args.managed_group, args.web_group):
        if not USER_PATTERN.fullmatch(group):
            raise InstallError(f"invalid group name {group!r}")
    paths = {}
    for name, default in DEFAULTS.items():
        given = getattr(args, name, None)
        paths[name] = Path(given) if given else _prefixed(args.prefix, default)
    # The service user's home is its data directory: a home under /home
    # that also holds the clone would hand it the code root installs from.
    home = Path(args.home) if args.home else paths["data_dir"]
    sudoers = Path(args.sudoers_file or f"/etc/sudoers.d/{args.user}")
    hostname = args.hostname or socket.getfqdn()
    wrapper_settings = {
        "DIRECTORIES_ROOT": str(paths["directories_root"]),
        "SNAPSHOTS_ROOT": str(paths["snapshots_root"]),
        "MANAGED_GROUP": args.managed_group,
        # The passdb smbpasswd.py writes must be the one the share's smbd reads.
        "SAMBA_CONFIG": args.samba_config,
    }
    if args.backend:
        wrapper_settings["BACKEND"] = args.backend
    if args.volume_group:
        wrapper_settings["VOLUME_GROUP"] = args.volume_group
    if args.loopfile_pool:
        wrapper_settings["LOOPFILE_POOL"] = args.loopfile_pool
    for item in args.wrappers_setting:
        key, _, value = item.partition("=")
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
            raise InstallError(f"invalid wrapper setting {item!r}: use NAME=VALUE")
        try:
            wrapper_settings[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            raise InstallError(f"{key}: {value!r} is not a Python literal") from None
    layout = Layout(
        user=args.user,
        home=home,
        managed_group=args.managed_group,
        web_group=args.web_group,
        hostname=hostname,
        allowed_hosts=list(dict.fromkeys([hostname, *args.allowed_host])),
        wrappers_dir=paths["wrappers_dir"],
        config=paths["config"],
        data_dir=paths["data_dir"],
        log_dir=paths["log_dir"],
        static_root=paths["static_root"],
        run_dir=paths["run_dir"],
        directories_root=paths["directories_root"],
        snapshots_root=paths["snapshots_root"],
        tmpfiles_file=paths["tmpfiles_dir"] / f"{args.user}.conf",
        logrotate_file=paths["logrotate_dir"] / args.user,
        sudoers_file=sudoers,
        samba_config=Path(args.samba_config),
        wrapper_settings=wrapper_settings,
    )
    for path in (*paths.values(), home, sudoers, layout.samba_config):
        if not PATH_PATTERN.fullmatch(str(path)):
            raise InstallError(f"{path}: use an absolute path of letters, digits and ._+-/")
    return layout


class Installer:
    def __init__(self, layout, out=sys.stdout):
        self.layout = layout
        self.out = out
        self.changes = 0

    def changed(self, message):
        self.changes += 1
        print(f"bin/install: {message}", file=self.out, flush=True)

    # --- Accounts ---------------------------------------------------------

    def groups(self):
        try:
            grp.getgrnam(self.layout.web_group)
        except KeyError:
            raise InstallError(
                f"the web server's group {self.layout.web_group} does not exist: install "
                "the web server first (apt-get install apache2) or pass --web-group"
            ) from None
        if not _group_exists(self.layout.managed_group):
            _run(["groupadd", self.layout.managed_group])
            self.changed(f"created group {self.layout.managed_group} (backup accounts)")

    def service_user(self):
        user = self.layout.user
        try:
            pwd.getpwnam(user)
            return
        except KeyError:
            pass
        # No --create-home: the home (the data directory by default) is made
        # by directories(), owned as the portal needs, and never the clone's.
        _run(
            [
                "useradd", "--system", "--user-group", "--no-create-home",
                "--home-dir", str(self.layout.home), "--shell", "/bin/bash",
                "--comment", "Backup management portal", user,
            ]
        )  # fmt: skip
        self.changed(f"created service user {user} (home {self.layout.home}, no password)")

    def repository_readable(self):
        completed = self.as_service_user([str(VENV_PYTHON), "-c", "import django"])
        if completed.returncode != 0:
            raise InstallError(
                f"{self.layout.user} cannot read {REPO} and its .venv: clone the repository "
                f"where it can (e.g. {self.layout.home}/backup) or make it readable (chmod o+rX)"
            )

    # --- Wrappers and sudo ------------------------------------------------

    def wrappers(self):
        argv = [str(INSTALL_WRAPPERS), str(self.layout.wrappers_dir)]
        local = self.layout.wrappers_dir / "local_settings.py"
        with tempfile.TemporaryDirectory() as scratch:
            if not local.exists():
                generated = Path(scratch) / "local_settings.py"
                generated.write_text(self.local_settings_text())
                argv.append(str(generated))
            self.layout.wrappers_dir.parent.mkdir(parents=True, exist_ok=True)
            completed = _run(argv)
        for line in completed.stdout.splitlines():
            self.changed(f"wrappers: {line}")

    def local_settings_text(self):
        lines = [
            "# The wrappers' settings for this server (defaults: wrappers_settings.py).",
            "# Written once by bin/install; edit as root. PROTECTED_USERS: add the",
            "# server's administrators so no wrapper ever touches their accounts.",
        ]
        lines += [
            f"{key} = {value!r}" for key, value in sorted(self.layout.wrapper_settings.items())
        ]
        return "\n".join(lines) + "\n"

    def wrapper_paths(self, *, from_source=False):
        """Exactly the wrapper executables that are installed (or, from the
        source tree, that will be)."""
        directory = WRAPPERS_SOURCE if from_source else self.layout.wrappers_dir
        return [self.layout.wrappers_dir / name for name in wrapper_names(directory)]

    def sudoers_text(self, *, from_source=False):
        user = self.layout.user
        paths = [str(path) for path in self.wrapper_paths(from_source=from_source)]
        return (
            "# Written by bin/install: the portal's service user may run exactly these\n"
            "# root-owned wrappers as root, without a password, and nothing else.\n"
            "# Run bin/install again after adding wrappers; don't edit by hand.\n"
            f"Defaults:{user} env_reset\n"
            f"{user} ALL=(root) NOPASSWD: " + ", \\\n    ".join(paths) + "\n"
        )

    def sudoers(self):
        target = self.layout.sudoers_file
        text = self.sudoers_text()
        if _read(target) == text and _owner_mode(target) == (0, 0, 0o440):
            return
        # sudo ignores files whose name contains a dot: a half-written or
        # invalid file can never take effect.
        temporary = target.with_name(f".{target.name}.new")
        temporary.write_text(text)
        os.chown(temporary, 0, 0)
        os.chmod(temporary, 0o440)
        checked = subprocess.run(
            ["visudo", "-c", "-q", "-f", str(temporary)],
            capture_output=True,
            text=True,
            env={"PATH": PATH},
            check=False,
        )
        if checked.returncode != 0:
            temporary.unlink()
            raise InstallError(f"visudo rejects the generated sudoers file: {checked.stderr}")
        os.replace(temporary, target)
        self.changed(f"wrote {target} ({len(self.wrapper_paths())} wrappers, checked by visudo)")

    # --- Files and directories ---------------------------------------------

    def directory(self, path, owner, group, mode):
        uid, gid = pwd.getpwnam(owner).pw_uid, grp.getgrnam(group).gr_gid
        if not path.is_dir():
            path.mkdir(parents=True)
            os.chown(path, uid, gid)
            os.chmod(path, mode)
            self.changed(f"created {path} ({owner}:{group} {mode:o})")
        elif _owner_mode(path) != (uid, gid, mode):
            os.chown(path, uid, gid)
            os.chmod(path, mode)
            self.changed(f"set {path} to {owner}:{group} {mode:o}")

    def file(self, path, text, owner, group, mode, *, keep_existing=False):
        uid, gid = pwd.getpwnam(owner).pw_uid, grp.getgrnam(group).gr_gid
        current = _read(path)
        if current is None or (current != text and not keep_existing):
            temporary = path.with_name(f".{path.name}.new")
            temporary.write_text(text)
            os.chown(temporary, uid, gid)
            os.chmod(temporary, mode)
            os.replace(temporary, path)
            self.changed(f"{'wrote' if current is None else 'updated'} {path}")
        elif _owner_mode(path) != (uid, gid, mode):
            os.chown(path, uid, gid)
            os.chmod(path, mode)
            self.changed(f"set {path} to {owner}:{group} {mode:o}")

    def directories(self):
        layout, user = self.layout, self.layout.user
        self.directory(layout.directories_root, "root", "root", 0o755)
        pool = layout.wrapper_settings.get("LOOPFILE_POOL")
        if pool:
            self.directory(Path(pool), "root", "root", 0o700)
        self.directory(layout.config.parent, "root", "root", 0o755)
        self.directory(layout.data_dir, user, user, 0o750)
        self.directory(layout.rrd_dir, user, user, 0o750)
        self.directory(layout.log_dir, user, user, 0o750)
        self.file(layout.portal_log, "", user, user, 0o640, keep_existing=True)
        for parent in reversed(layout.static_root.parents):
            if not parent.exists():
                self.directory(parent, "root", "root", 0o755)
        # Root's: a taken-over portal must not change the JavaScript that
        # Apache serves to every employee.
        self.directory(layout.static_root, "root", "root", 0o755)
        # setgid: the socket inherits the web server's group, which alone may
        # reach it besides the service user.
        self.directory(layout.run_dir, user, layout.web_group, 0o2750)
        layout.tmpfiles_file.parent.mkdir(parents=True, exist_ok=True)
        self.file(
            layout.tmpfiles_file,
            "# Recreates the FastCGI socket directory at boot (bin/install).\n"
            f"d {layout.run_dir} 2750 {user} {layout.web_group} -\n",
            "root",
            "root",
            0o644,
        )
        # The portal's log (server errors with tracebacks), the daemon's and
        # the worker's: rotated weekly; the portal's WatchedFileHandler and
        # copytruncate for the others mean nothing needs restarting.
        layout.logrotate_file.parent.mkdir(parents=True, exist_ok=True)
        self.file(
            layout.logrotate_file,
            f"{layout.log_dir}/*.log {{\n"
            "    weekly\n    rotate 12\n    compress\n    delaycompress\n"
            "    missingok\n    notifempty\n    copytruncate\n"
            f"    su {user} {user}\n}}\n",
            "root",
            "root",
            0o644,
        )

    def config_text(self):
        layout = self.layout

        def value(item):
            return json.dumps(str(item) if isinstance(item, Path) else item)

        entries = {
            "secret_key": secrets.token_urlsafe(50),
            "allowed_hosts": layout.allowed_hosts,
            "server_hostname": layout.hostname,
            "service_user": layout.user,
            "database": layout.database,
            "static_root": layout.static_root,
            "rrd_directory": layout.rrd_dir,
            "wrappers_path": layout.wrappers_dir,
            "directories_root": layout.directories_root,
            "snapshots_root": layout.snapshots_root,
            "samba_config": layout.samba_config,
            "fcgi_socket": layout.run_dir / "backup.sock",
            "fcgi_pidfile": layout.run_dir / "backup.pid",
            "fcgi_log": layout.log_dir / "fcgi.log",
            "log_file": layout.portal_log,
            "url_prefix": "/backup",
            "admins": [],
        }
        return (
            "# Production settings of the backup portal (backup/settings/production.py).\n"
            "# Written once by bin/install and then kept: edit it, then restart the\n"
            "# daemon (bin/start.sh) and the worker. Readable by root and the service user.\n"
            + "".join(f"{key} = {value(item)}\n" for key, item in entries.items())
            + "# Optional keys (defaults in backup/settings/base.py) are listed in\n"
            "# backup/settings/production.py, e.g. support_contact, default_disk_size\n"
            "# (GiB, 250), default_quota (300), volume_filesystem, email_host, email_from,\n"
            "# alert_email_domain, pool_full_warning_days, alert_channels_allowed,\n"
            "# near_quota_percents, pool_warn_allocated_percent, pool_warn_used_percent.\n"
            "# admins: SSO names made staff.\n"
        )

    def config(self):
        self.file(
            self.layout.config,
            self.config_text(),
            "root",
            self.layout.user,
            0o640,
            keep_existing=True,
        )

    # --- Django -----------------------------------------------------------

    def as_service_user(self, argv, umask=0o027):
        env = {
            "PATH": PATH,
            "HOME": str(self.layout.home),
            "LANG": "C.UTF-8",
            "DJANGO_SETTINGS_MODULE": "backup.settings.production",
            "BACKUP_CONFIG": str(self.layout.config),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        return subprocess.run(
            ["runuser", "-u", self.layout.user, "--", *argv],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            umask=umask,
            check=False,
        )

    def manage(self, *args, check=True, umask=0o027):
        argv = [str(VENV_PYTHON), str(REPO / "manage.py"), *args]
        completed = self.as_service_user(argv, umask=umask)
        if check and completed.returncode != 0:
            raise InstallError(
                f"manage.py {' '.join(args)} failed:\n{completed.stdout}{completed.stderr}"
            )
        return completed

    def migrate(self):
        if self.manage("migrate", "--check", check=False).returncode != 0:
            self.manage("migrate", "--noinput")
            self.changed(f"migrated the database {self.layout.database}")

    def collectstatic(self):
        """Collected by root into the root-owned static root. Root runs the
        checkout's code here, which untrusted_checkout() proved is root's
        alone, with settings that read no file the service user owns (the
        production settings would open its log file, which it could have
        turned into a link to one of root's)."""
        before = _snapshot(self.layout.static_root)
        env = {
            "PATH": PATH,
            "LANG": "C.UTF-8",
            "DJANGO_SETTINGS_MODULE": "backup.settings.static_build",
            "BACKUP_STATIC_ROOT": str(self.layout.static_root),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        completed = subprocess.run(
            [str(VENV_PYTHON), str(REPO / "manage.py"), "collectstatic", "--noinput"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            umask=0o022,  # world-readable: the web server serves them
            check=False,
        )
        if completed.returncode != 0:
            raise InstallError(f"collectstatic failed:\n{completed.stdout}{completed.stderr}")
        if _snapshot(self.layout.static_root) != before:
            self.changed(f"collected static files into {self.layout.static_root}")

    def run(self):
        self.groups()
        self.service_user()
        self.repository_readable()
        self.wrappers()
        self.sudoers()
        self.directories()
        self.config()
        self.migrate()
        self.collectstatic()


class Uninstaller:
    """Removes what the installer made, except data: volumes, backup accounts
    and their group are never touched; the database, RRDs and logs go only
    with --purge, which also removes the service user."""

    def __init__(self, layout, purge, out=sys.stdout):
        self.layout = layout
        self.purge = purge
        self.out = out

    def removed(self, what):
        print(f"bin/uninstall: removed {what}", file=self.out, flush=True)

    def remove(self, path):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            return
        self.removed(path)

    def stop_daemon(self):
        pidfile = self.layout.run_dir / "backup.pid"
        if not (
            pidfile.exists() and self.layout.config.exists() and _user_exists(self.layout.user)
        ):
            return
        env = {
            "PATH": PATH,
            "DJANGO_SETTINGS_MODULE": "backup.settings.production",
            "BACKUP_CONFIG": str(self.layout.config),
        }
        argv = [str(VENV_PYTHON), str(REPO / "manage.py"), "runfcgi", "--stop"]
        subprocess.run(
            ["runuser", "-u", self.layout.user, "--", *argv, "--pidfile", str(pidfile)],
            cwd=REPO,
            env=env,
            capture_output=True,
            check=False,
        )
        self.removed("the FastCGI daemon (stopped)")

    def run(self):
        layout = self.layout
        self.stop_daemon()
        # The sudo rights go first: from here on the service user can do nothing.
        self.remove(layout.sudoers_file)
        self.remove(layout.wrappers_dir)
        self.remove(layout.tmpfiles_file)
        self.remove(layout.logrotate_file)
        self.remove(layout.run_dir)
        self.remove(layout.static_root)
        self.remove(layout.config)
        if self.purge:
            self.remove(layout.data_dir)
            self.remove(layout.log_dir)
            if _user_exists(layout.user):
                # A home elsewhere (an older install's /home/USER) may hold
                # the clone this runs from: it stays.
                _run(["userdel", layout.user])
                self.removed(f"service user {layout.user}")
        # The folders made only to hold the above, once nothing else is in them.
        for parent in (layout.wrappers_dir.parent, layout.config.parent, layout.static_root.parent):
            if parent.name == "backupmanagement" and parent.is_dir():
                with contextlib.suppress(OSError):
                    parent.rmdir()
                    self.removed(parent)


def _run(argv):
    completed = subprocess.run(
        argv, capture_output=True, text=True, env={"PATH": PATH, "LANG": "C.UTF-8"}, check=False
    )
    if completed.returncode != 0:
        raise InstallError(f"{' '.join(argv)} failed: {completed.stderr.strip()}")
    return completed


def _group_exists(name):
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def _user_exists(name):
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _read(path):
    try:
        return Path(path).read_text()
    except FileNotFoundError:
        return None


def _owner_mode(path):
    info = os.stat(path)
    return info.st_uid, info.st_gid, info.st_mode & 0o7777


def _snapshot(root):
    return sorted(
        (str(path.relative_to(root)), path.stat().st_size, path.stat().st_mtime_ns)
        for path in Path(root).rglob("*")
    )


def _trust_checkout(command):
    """Refuse, before anything is imported, run or copied as root, a checkout
    that anyone but root could have changed."""
    problem = untrusted_checkout()
    if problem:
        raise InstallError(
            f"refusing to run as root from {REPO}: {problem}. Root would run and install "
            "code that account could change. Put the checkout where only root can change it "
            f"(for example /opt/backupmanagement/portal, owned by root), then run {command} "
            "from there. Nothing was changed."
        )


def _preflight():
    if os.geteuid() != 0:
        raise InstallError("run as root (sudo bin/install)")
    _trust_checkout("bin/install")
    if not VENV_PYTHON.exists():
        raise InstallError("no virtualenv: run sudo bin/setup first")


def install_main(argv=None):
    args = parser().parse_args(argv)
    if args.print_sudoers:
        args.hostname = args.hostname or "localhost"
        print(Installer(layout_from(args)).sudoers_text(from_source=True), end="")
        return
    try:
        _preflight()
        installer = Installer(layout_from(args))
        installer.run()
    except InstallError as error:
        sys.exit(f"bin/install: {error}")
    if installer.changes:
        print(f"bin/install: done, {installer.changes} changes.")
        print(
            "Next: check the server as the service user:\n"
            f"  sudo -u {args.user} env DJANGO_SETTINGS_MODULE=backup.settings.production "
            f"BACKUP_CONFIG={installer.layout.config} {VENV_PYTHON} {REPO}/manage.py "
            "check_prerequisities"
        )
    else:
        print("bin/install: nothing to change, already installed.")


def uninstall_main(argv=None):
    p = parser()
    p.prog = "bin/uninstall"
    p.description = "Undo bin/install (give it the same options)."
    p.add_argument(
        "--purge",
        action="store_true",
        help="also remove the database, RRDs, logs and the service user",
    )
    args = p.parse_args(argv)
    try:
        if os.geteuid() != 0:
            raise InstallError("run as root (sudo bin/uninstall)")
        _trust_checkout("bin/uninstall")
        Uninstaller(layout_from(args), args.purge).run()
    except InstallError as error:
        sys.exit(f"bin/uninstall: {error}")


if __name__ == "__main__":
    command = sys.argv.pop(1) if len(sys.argv) > 1 else ""
    if command == "install":
        install_main()
    elif command == "uninstall":
        uninstall_main()
    else:
        sys.exit("usage: installer.py install|uninstall [options] (use bin/install, bin/uninstall)")
