"""A real production installation (bin/install) into a temporary prefix.

The service user, its sudoers file and the managed group are global names,
so each installation gets unique ones (a random suffix); everything else
lives under /var/tmp/bmd-<suffix>. destroy() runs bin/uninstall --purge,
then removes whatever is left that the installation made (backup accounts,
mounts and loop devices under the prefix, the groups), and nothing else.
"""

import grp
import importlib
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from support import wrapper_install

REPO = Path(__file__).resolve().parent.parent.parent
PYTHON = REPO / ".venv" / "bin" / "python"
PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
BIN = REPO / "bin"


@dataclass
class Installation:
    prefix: Path
    user: str
    managed_group: str
    options: list = field(default_factory=list)
    syslog: list = field(default_factory=list)

    @property
    def config(self):
        return self.prefix / "etc" / "backupmanagement" / "backup.toml"

    @property
    def wrappers(self):
        return self.prefix / "opt" / "backupmanagement" / "wrappers"

    @property
    def sudoers(self):
        return Path("/etc/sudoers.d") / self.user

    @property
    def run_dir(self):
        return self.prefix / "run" / "backupmanagement"

    @property
    def socket(self):
        return self.run_dir / "backup.sock"

    @property
    def pidfile(self):
        return self.run_dir / "backup.pid"

    @property
    def static_root(self):
        return self.prefix / "var" / "www" / "backupmanagement" / "static"

    @property
    def fcgi_log(self):
        return self.prefix / "var" / "log" / "backupmanagement" / "fcgi.log"

    @property
    def samba_config(self):
        return self.prefix / "samba" / "smb.conf"

    def uid(self):
        return pwd.getpwnam(self.user).pw_uid

    def layout(self):
        """The installer's own Layout for these options (its table of
        managed paths: Layout.managed())."""
        return layout_for(self.options)

    def tree(self):
        """Everything under the prefix and the sudoers entry (see tree())."""
        return tree(self.prefix, self.sudoers)

    def install(self, *extra):
        return subprocess.run(
            [str(REPO / "bin" / "install"), *self.options, *extra],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )

    def env(self):
        return {
            "PATH": PATH,
            "LANG": "C.UTF-8",
            "HOME": str(self.prefix / "home" / self.user),
            "BACKUP_CONFIG": str(self.config),
            "DJANGO_SETTINGS_MODULE": "backup.settings.production",
            "PYTHONDONTWRITEBYTECODE": "1",
        }

    def as_service_user(self, *argv, timeout=120, env_extra=None, **kwargs):
        return subprocess.run(
            ["runuser", "-u", self.user, "--", *argv],
            cwd=REPO,
            env={**self.env(), **(env_extra or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **kwargs,
        )

    def manage(self, *args, as_root=False, timeout=120):
        argv = [str(PYTHON), str(REPO / "manage.py"), *args]
        if as_root:
            return subprocess.run(
                argv,
                cwd=REPO,
                env=self.env(),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        return self.as_service_user(*argv, timeout=timeout)

    def start_daemon(self, *args, **env):
        """bin/start.sh as the service user (env: more of its settings)."""
        return self.as_service_user(str(REPO / "bin" / "start.sh"), *args, env_extra=env)

    def stop_daemon(self):
        return self.start_daemon("--stop")

    def start_worker(self):
        """The task worker as deploy/systemd runs it (setpriv execs it directly,
        so the test holds the worker's own pid)."""
        entry = pwd.getpwnam(self.user)
        return subprocess.Popen(
            [
                "setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--init-groups",
                str(PYTHON), str(REPO / "manage.py"), "db_worker", "--queue-name=*",
                "--no-startup-delay", "--interval=0.2",
            ],
            cwd=REPO,
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=(self.prefix / "worker.log").open("a"),
        )  # fmt: skip

    def daemon_pid(self):
        try:
            return int(self.pidfile.read_text())
        except (OSError, ValueError):
            return None


def tree(*roots):
    """Every path under roots, as lstat shows it (links not followed) and
    with its content: equal before and after means nothing changed."""
    seen = {}
    for root in roots:
        for directory, subdirs, files in os.walk(root):
            for name in ("", *subdirs, *files):
                path = os.path.join(directory, name) if name else directory
                info = os.lstat(path)
                if stat.S_ISLNK(info.st_mode):
                    content = os.readlink(path)
                elif stat.S_ISREG(info.st_mode):
                    content = Path(path).read_bytes()
                else:
                    content = None
                seen[path] = (
                    stat.S_IFMT(info.st_mode),
                    stat.S_IMODE(info.st_mode),
                    info.st_uid,
                    info.st_gid,
                    info.st_mtime_ns,
                    content,
                )
    return seen


def _samba_config(prefix):
    """A private Samba configuration with the per-user share of
    INSTALL.samba.txt, so the Samba check has something real to read."""
    samba = prefix / "samba"
    for sub in ("private", "state", "cache", "lock", "pid", "log"):
        (samba / sub).mkdir(parents=True, mode=0o700)
    (samba / "smb.conf").write_text(
        "[global]\n"
        "  workgroup = BMDTEST\n"
        f"  passdb backend = tdbsam:{samba}/private/passdb.tdb\n"
        f"  private dir = {samba}/private\n"
        f"  state directory = {samba}/state\n"
        f"  cache directory = {samba}/cache\n"
        f"  lock directory = {samba}/lock\n"
        f"  pid directory = {samba}/pid\n"
        f"  log file = {samba}/log/log.%m\n"
        "[homes]\n"
        f"  path = {prefix}/srv/userbackup/%S\n"
        "  valid users = %S\n"
        "  read only = no\n"
        "  browseable = no\n"
    )
    os.chmod(samba, 0o755)


def installer_part(name):
    """A module of the installer (bin/installation, stdlib only)."""
    if str(BIN) not in sys.path:
        sys.path.insert(0, str(BIN))
    return importlib.import_module(f"installation.{name}")


def layout_for(options):
    layout = installer_part("layout")
    return layout.layout_from(layout.parser().parse_args(options))


def create(**wrapper_settings):
    """Run bin/install into a fresh prefix (loop-file pool under it)."""
    token = secrets.token_hex(3)
    prefix = Path(f"/var/tmp/bmd-{token}")
    prefix.mkdir(mode=0o755)
    os.chmod(prefix, 0o755)
    _samba_config(prefix)
    installation = Installation(prefix=prefix, user=f"bmd{token}", managed_group=f"bmdg{token}")
    installation.options = options_for(installation, **wrapper_settings)
    installation.syslog_socket = wrapper_install.listen_syslog(
        prefix / "syslog.sock", installation.syslog
    )
    return installation


def options_for(installation, **wrapper_settings):
    """bin/install's options for an installation into its prefix."""
    prefix = installation.prefix
    settings = {
        "LOCK_DIR": str(prefix / "locks"),
        "STATE_DIR": str(prefix / "wrapper-state"),
        "LOOPFILE_POOL_SIZE_GIB": 20,
        "SYSLOG_ADDRESS": str(prefix / "syslog.sock"),
        "ACCOUNT_UID_MIN": 50000,
        "ACCOUNT_UID_MAX": 59999,
        **wrapper_settings,
    }
    return [
        "--prefix", str(prefix),
        "--user", installation.user,
        "--managed-group", installation.managed_group,
        "--hostname", "localhost",
        "--samba-config", str(installation.samba_config),
        "--backend", settings.pop("BACKEND", "loopfile"),
        "--loopfile-pool", str(prefix / "pool"),
        *(f"--wrappers-setting={key}={value!r}" for key, value in settings.items()),
    ]  # fmt: skip


def _under(prefix, path):
    return path == str(prefix) or path.startswith(f"{prefix}/")


def _mounts_under(prefix):
    with open("/proc/self/mountinfo") as mountinfo:
        points = [line.split()[4].replace("\\040", " ") for line in mountinfo]
    return sorted((p for p in points if _under(prefix, p)), key=len, reverse=True)


def _loop_devices_under(prefix):
    devices = []
    for entry in Path("/sys/block").glob("loop*"):
        try:
            backing = (entry / "loop" / "backing_file").read_text().strip()
        except OSError:
            continue
        if _under(prefix, backing):
            devices.append(f"/dev/{entry.name}")
    return devices


def destroy(installation):
    """Undo the installation, then remove anything else it left."""
    if installation.daemon_pid():
        installation.stop_daemon()
    subprocess.run(
        [str(REPO / "bin" / "uninstall"), *installation.options, "--purge"],
        capture_output=True,
        check=False,
        timeout=120,
    )
    prefix = installation.prefix
    for point in _mounts_under(prefix):
        subprocess.run(["umount", "-l", point], check=False, capture_output=True)
    for device in _loop_devices_under(prefix):
        subprocess.run(["losetup", "-d", device], check=False, capture_output=True)
    try:
        gid = grp.getgrnam(installation.managed_group).gr_gid
    except KeyError:
        gid = None
    if gid is not None:
        for entry in pwd.getpwall():
            if entry.pw_gid == gid:
                subprocess.run(["userdel", entry.pw_name], check=False, capture_output=True)
        subprocess.run(["groupdel", installation.managed_group], check=False)
    if installation.sudoers.exists():
        installation.sudoers.unlink()
    subprocess.run(["userdel", installation.user], check=False, capture_output=True)
    subprocess.run(["groupdel", installation.user], check=False, capture_output=True)
    installation.syslog_socket.close()
    shutil.rmtree(prefix, ignore_errors=True)
