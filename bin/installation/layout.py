"""Every path and name an installation uses, from the command line, and the
table of the paths the installer manages (what each must be, and whose)."""

import argparse
import ast
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path

# A user name that is also a valid sudoers.d file name (sudo skips names
# containing a dot) and a valid group name.
USER_PATTERN = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
# Paths go into sudoers and TOML unquoted/quoted: keep them plain.
PATH_PATTERN = re.compile(r"/[A-Za-z0-9/._+-]*")

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
# The wrappers' own default (wrappers/wrappers_settings.py), where they keep
# their lock files unless LOCK_DIR is set.
WRAPPERS_LOCK_DIR = "/run/backupmanagement-wrappers"


class InstallError(Exception):
    pass


@dataclass(frozen=True)
class Managed:
    """One path the installer makes and keeps as it says: a "dir" or a
    "file" (never a link), owned by ``owner``:``group`` with ``mode``.
    ``content`` names the text it holds (a method of texts.Texts), or None
    for an empty file the portal writes to (its log)."""

    path: Path
    kind: str
    owner: str
    group: str
    mode: int
    content: str | None = None
    keep_existing: bool = False


@dataclass
class Layout:
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

    @property
    def pidfile(self):
        return self.run_dir / "backup.pid"

    @property
    def pool(self):
        pool = self.wrapper_settings.get("LOOPFILE_POOL")
        return Path(pool) if pool else None

    @property
    def lock_dir(self):
        return Path(self.wrapper_settings.get("LOCK_DIR", WRAPPERS_LOCK_DIR))

    def managed(self):
        """What the installer makes, in the order it makes it: the one list
        that the checks before any change, the changes themselves and the
        tests planting links all read, so a new path is covered by each."""
        user, web = self.user, self.web_group
        table = [Managed(self.directories_root, "dir", "root", "root", 0o755)]
        if self.pool:
            table.append(Managed(self.pool, "dir", "root", "root", 0o700))
        table += [
            Managed(self.config.parent, "dir", "root", "root", 0o755),
            Managed(self.data_dir, "dir", user, user, 0o750),
            Managed(self.rrd_dir, "dir", user, user, 0o750),
            Managed(self.log_dir, "dir", user, user, 0o750),
            Managed(self.portal_log, "file", user, user, 0o640, keep_existing=True),
            # Root's: a taken-over portal must not change the JavaScript that
            # Apache serves to every employee.
            Managed(self.static_root, "dir", "root", "root", 0o755),
            # setgid: the socket inherits the web server's group, which alone
            # may reach it besides the service user.
            Managed(self.run_dir, "dir", user, web, 0o2750),
            Managed(self.tmpfiles_file, "file", "root", "root", 0o644, "tmpfiles"),
            Managed(self.logrotate_file, "file", "root", "root", 0o644, "logrotate"),
            Managed(self.config, "file", "root", user, 0o640, "config", keep_existing=True),
            # install-wrappers fills it; sudoers is written once they are in.
            Managed(self.wrappers_dir, "dir", "root", "root", 0o700),
            Managed(
                self.wrappers_dir / "local_settings.py",
                "file",
                "root",
                "root",
                0o600,
                "local_settings",
                keep_existing=True,
            ),
            Managed(self.sudoers_file, "file", "root", "root", 0o440, "sudoers"),
        ]
        return table


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
    checked = (*paths.values(), home, sudoers, layout.samba_config, layout.lock_dir)
    for path in (*checked, *([layout.pool] if layout.pool else [])):
        if not PATH_PATTERN.fullmatch(str(path)):
            raise InstallError(f"{path}: use an absolute path of letters, digits and ._+-/")
    return layout
