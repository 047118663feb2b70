"""bin/install: check every managed path, then make each one as the layout's
table says, then the accounts' and Django's parts.

Idempotent: every step looks first and changes only what differs, printing
one line per change; a run with nothing to change says so. Files an admin
may edit afterwards (the TOML config with its generated SECRET_KEY, the
wrappers' local_settings.py) are written once and then kept.
"""

import grp
import subprocess
import sys
from pathlib import Path

import safe_paths

from . import system
from .layout import InstallError
from .paths import INSTALL_WRAPPERS, PATH, REPO, VENV_PYTHON
from .texts import Texts

NOLOGIN = "/usr/sbin/nologin"


def trusted_accounts(owner):
    """Who besides root may change the directories above a path owned by
    owner: that account, when it is not root (its own data directory)."""
    uid = system.uid_of(owner)
    return {0} if uid in (None, 0) else {0, uid}


def check_managed_paths(layout):
    """Validate first: refuse, before anything changes, when a path the
    installation manages is a link, the wrong type or someone else's, or
    sits below a directory that an account it doesn't belong to could
    change (safe_paths.check), or the wrappers' directory holds a link or
    a file not root's."""
    try:
        for entry in layout.managed():
            uid = system.uid_of(entry.owner)
            safe_paths.check(
                entry.path, entry.kind, 0 if uid is None else uid, trusted_accounts(entry.owner)
            )
        safe_paths.check_tree(layout.wrappers_dir)
    except safe_paths.Refused as refused:
        raise InstallError(f"{refused}: refusing to change anything") from None


class Installer:
    def __init__(self, layout, wrapper_names, out=sys.stdout):
        self.layout = layout
        self.texts = Texts(layout, wrapper_names)
        self.out = out
        self.changes = 0

    def changed(self, message):
        self.changes += 1
        print(f"bin/install: {message}", file=self.out, flush=True)

    # --- Accounts ---------------------------------------------------------

    def web_group(self):
        try:
            grp.getgrnam(self.layout.web_group)
        except KeyError:
            raise InstallError(
                f"the web server's group {self.layout.web_group} does not exist: install "
                "the web server first (apt-get install apache2) or pass --web-group"
            ) from None

    def groups(self):
        if not system.group_exists(self.layout.managed_group):
            system.run(["groupadd", self.layout.managed_group])
            self.changed(f"created group {self.layout.managed_group} (backup accounts)")

    def service_user(self):
        user = self.layout.user
        if system.uid_of(user) is not None:
            # Older installers gave it /bin/bash; nothing of the portal needs
            # a login shell, and an account without one can't be logged into.
            if system.shell_of(user) != NOLOGIN:
                system.run(["usermod", "--shell", NOLOGIN, user])
                self.changed(f"set the shell of service user {user} to {NOLOGIN}")
            return
        # No --create-home: the home (the data directory by default) is made
        # from the table, owned as the portal needs, and never the clone's.
        # No login shell: runuser -u, sudo -u and cron run its commands
        # without one, so nobody needs to log in as it.
        system.run(
            [
                "useradd", "--system", "--user-group", "--no-create-home",
                "--home-dir", str(self.layout.home), "--shell", NOLOGIN,
                "--comment", "Backup management portal", user,
            ]
        )  # fmt: skip
        self.changed(f"created service user {user} (home {self.layout.home}, no password)")

    def repository_readable(self):
        completed = system.as_user(self.layout, [str(VENV_PYTHON), "-c", "import django"])
        if completed.returncode != 0:
            raise InstallError(
                f"{self.layout.user} cannot read {REPO} and its .venv: clone the repository "
                f"where it can (e.g. {self.layout.home}/backup) or make it readable (chmod o+rX)"
            )

    # --- The managed paths --------------------------------------------------

    def make(self, entry):
        if entry.path == self.layout.wrappers_dir:
            self.wrappers()
            return
        uid, gid = system.ids_of(entry.owner, entry.group)
        trusted = trusted_accounts(entry.owner)
        where = f"{entry.owner}:{entry.group} {entry.mode:o}"
        if entry.kind == "dir":
            done = safe_paths.ensure_directory(entry.path, uid, gid, entry.mode, trusted)
            if done == "created":
                self.changed(f"created {entry.path} ({where})")
        elif entry.content is None:
            done = safe_paths.ensure_file(entry.path, uid, gid, entry.mode, trusted)
            if done == "created":
                self.changed(f"wrote {entry.path}")
        else:
            text = getattr(self.texts, entry.content)().encode()
            verify = self.visudo if entry.content == "sudoers" else None
            done = safe_paths.write_file(
                entry.path,
                text,
                uid,
                gid,
                entry.mode,
                keep_existing=entry.keep_existing,
                verify=verify,
            )
            if done and entry.content == "sudoers":
                count = len(self.texts.wrapper_paths())
                self.changed(f"wrote {entry.path} ({count} wrappers, checked by visudo)")
                return
            if done in ("wrote", "updated"):
                self.changed(f"{done} {entry.path}")
        if done == "set":
            self.changed(f"set {entry.path} to {where}")

    def wrappers(self):
        completed = system.run([str(INSTALL_WRAPPERS), str(self.layout.wrappers_dir)])
        for line in completed.stdout.splitlines():
            self.changed(f"wrappers: {line}")

    @staticmethod
    def visudo(temporary):
        """sudo ignores files whose name contains a dot, as the temporary's
        does: a half-written or invalid file never takes effect."""
        checked = subprocess.run(
            ["visudo", "-c", "-q", "-f", temporary],
            capture_output=True,
            text=True,
            env={"PATH": PATH},
            check=False,
        )
        if checked.returncode != 0:
            raise InstallError(f"visudo rejects the generated sudoers file: {checked.stderr}")

    # --- Django -----------------------------------------------------------

    def manage(self, *args, check=True):
        argv = [str(VENV_PYTHON), str(REPO / "manage.py"), *args]
        completed = system.as_user(self.layout, argv)
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
        checkout's code here, which bin/installer.py proved is root's
        alone, with settings that read no file the service user owns (the
        production settings would open its log file)."""
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
        self.web_group()
        check_managed_paths(self.layout)
        self.groups()
        self.service_user()
        self.repository_readable()
        try:
            for entry in self.layout.managed():
                self.make(entry)
        except safe_paths.Refused as refused:
            # Only when something changed since the checks (a race).
            raise InstallError(f"{refused}: stopped there") from None
        self.migrate()
        self.collectstatic()


def _snapshot(root):
    """The static root's files (root's alone: walked as any other tree)."""
    return sorted(
        (str(path.relative_to(root)), path.lstat().st_size, path.lstat().st_mtime_ns)
        for path in Path(root).rglob("*")
    )
