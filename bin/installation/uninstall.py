"""bin/uninstall: stop everything the installation runs, then remove what
the installer made, and say what is kept and why.

In this order, because each step needs the one before: the paths are
checked first (as bin/install does: a link or a stranger's file refuses
everything); systemd units still enabled or running refuse everything (they
would restart what is stopped); then the service user's crontab goes (cron
starts nothing more), the daemon stops (finishing its requests), every
other process of the service user (the worker, a running job) is stopped;
only then are files removed, the sudoers entry first, and last the account.
"""

import contextlib
import os
import subprocess
import sys

import safe_paths

from . import system
from .install import check_managed_paths, trusted_accounts
from .layout import InstallError
from .paths import PATH, REPO

SYSTEMD_UNITS = REPO / "deploy" / "systemd"


def systemd_units_in_use():
    """The deploy/systemd units that are enabled or active here (none when
    systemd is not what runs this machine)."""
    if not os.path.isdir("/run/systemd/system"):
        return []
    in_use = []
    for unit in sorted(path.name for path in SYSTEMD_UNITS.iterdir()):
        for query in ("is-active", "is-enabled"):
            answered = subprocess.run(
                ["systemctl", query, "--quiet", unit],
                env={"PATH": PATH},
                capture_output=True,
                check=False,
            )
            if answered.returncode == 0:
                in_use.append(unit)
                break
    return in_use


class Uninstaller:
    """Removes what the installer made, except data: volumes, backup accounts
    and their group are never touched; the database, RRDs and logs go only
    with --purge, which also removes the service user."""

    def __init__(self, layout, purge, out=sys.stdout):
        self.layout = layout
        self.purge = purge
        self.out = out

    def say(self, message):
        print(f"bin/uninstall: {message}", file=self.out, flush=True)

    # --- Before anything changes --------------------------------------------

    def check(self):
        check_managed_paths(self.layout)
        try:
            safe_paths.check(self.layout.lock_dir, "dir", 0)
            safe_paths.check(self.layout.snapshots_root, "dir", 0)
        except safe_paths.Refused as refused:
            raise InstallError(f"{refused}: refusing to change anything") from None
        units = systemd_units_in_use()
        if units:
            raise InstallError(
                "the portal's systemd units would start again what bin/uninstall stops: "
                f"run systemctl disable --now {' '.join(units)} first (README, "
                "Undoing the installation); nothing was changed"
            )

    # --- Stopping -----------------------------------------------------------

    def stop(self):
        user = self.layout.user
        uid = system.uid_of(user)
        if uid is None:
            return
        if system.has_crontab(user):
            system.remove_crontab(user)
            self.say(f"removed the crontab of {user} (cron starts none of its jobs now)")
        self.stop_daemon(uid)
        for pid, name in sorted(system.stop_processes(uid).items()):
            self.say(f"stopped {name} (pid {pid}), which ran as {user}")
        left = system.processes_of(uid)
        if left:
            listed = ", ".join(f"{name} (pid {pid})" for pid, name in sorted(left.items()))
            raise InstallError(
                f"{listed} still run as {user}: stop them, then run bin/uninstall again; "
                "nothing else was removed"
            )

    def stop_daemon(self, uid):
        """The FastCGI daemon, as bin/start.sh would: it finishes the requests
        in progress (the other processes just get SIGTERM)."""
        pidfile = self.layout.pidfile
        trusted = {0, uid}
        if safe_paths.owner_mode(pidfile, trusted) is None:
            return
        if safe_paths.owner_mode(self.layout.config) is None:
            return
        # The runner that started it stops it (its pidfile is the config's,
        # which as_user's BACKUP_CONFIG names).
        stopped = system.as_user(self.layout, [str(REPO / "bin" / "start.sh"), "--stop"])
        if stopped.returncode == 0:
            self.say("stopped the FastCGI daemon")

    # --- Removing -----------------------------------------------------------

    def remove(self, path, owner="root"):
        if safe_paths.remove(path, trusted_accounts(owner)):
            self.say(f"removed {path}")

    def keep(self, path, why):
        self.say(f"kept {path}: {why}")

    def remove_if_empty(self, path, why):
        done = safe_paths.remove_if_empty(path)
        if done == "removed":
            self.say(f"removed {path} (empty)")
        elif done == "kept":
            self.keep(path, why)

    def remove_files(self):
        layout, user = self.layout, self.layout.user
        # The sudo rights go first: from here on the service user can do nothing.
        self.remove(layout.sudoers_file)
        self.remove(layout.wrappers_dir)
        self.remove(layout.tmpfiles_file)
        self.remove(layout.logrotate_file)
        self.remove(layout.run_dir, user)
        self.remove(layout.static_root)
        self.remove(layout.config)
        # The wrappers' lock files: nothing runs a wrapper any more.
        self.remove(layout.lock_dir)
        if self.purge:
            self.remove(layout.data_dir, user)
            self.remove(layout.log_dir, user)
            if system.uid_of(user) is not None:
                # A home elsewhere (an older install's /home/USER) may hold
                # the clone this runs from: it stays.
                system.run(["userdel", user])
                self.say(f"removed the service user {user}")
        else:
            for path in (layout.data_dir, layout.log_dir):
                if safe_paths.owner_mode(path, trusted_accounts(user)):
                    self.keep(path, "the database, RRDs and logs (--purge removes them)")
        self.remove_if_empty(layout.snapshots_root, "it holds volumes' snapshot mounts")
        if layout.pool:
            self.remove_if_empty(layout.pool, "it holds volume images (the backups' data)")
        # The folders made only to hold the above, once nothing else is in them.
        for parent in (layout.wrappers_dir.parent, layout.config.parent, layout.static_root.parent):
            if parent.name == "backupmanagement":
                with contextlib.suppress(safe_paths.Refused):
                    if safe_paths.remove_if_empty(parent) == "removed":
                        self.say(f"removed {parent} (empty)")

    def list_kept(self):
        layout = self.layout
        self.keep(
            layout.directories_root,
            "the volumes' mount points; remove it once every volume is deleted",
        )
        if system.group_exists(layout.managed_group):
            self.keep(
                f"group {layout.managed_group}",
                "the backup accounts, who own the volumes' data; remove them once the "
                "volumes are deleted",
            )
        for line in system.root_crontab_lines_naming(layout.wrappers_dir):
            self.keep(f"root's crontab line {line!r}", "root's to edit (crontab -e): remove it")

    def run(self):
        self.check()
        self.stop()
        try:
            self.remove_files()
        except safe_paths.Refused as refused:
            raise InstallError(f"{refused}: stopped there") from None
        self.list_kept()
