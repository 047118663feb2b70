"""The files the installer writes, as text: the sudoers entry, the wrappers'
local_settings.py, the portal's backup.toml, the tmpfiles.d and logrotate
entries. Pure functions of the layout; writing them is install.py's job."""

import json
import secrets
from pathlib import Path

from .paths import WRAPPERS_SOURCE

# Where the portal's logging finds syslog (production.py's default).
SYSLOG_SOCKET = Path("/dev/log")


class Texts:
    def __init__(self, layout, wrapper_names):
        self.layout = layout
        # bin/installer.py's wrapper_names: the one definition of a wrapper.
        self.wrapper_names = wrapper_names

    def wrapper_paths(self, *, from_source=False):
        """Exactly the wrapper executables that are installed (or, from the
        source tree, that will be)."""
        directory = WRAPPERS_SOURCE if from_source else self.layout.wrappers_dir
        return [self.layout.wrappers_dir / name for name in self.wrapper_names(directory)]

    def sudoers(self, *, from_source=False):
        user = self.layout.user
        paths = [str(path) for path in self.wrapper_paths(from_source=from_source)]
        return (
            "# Written by bin/install: the portal's service user may run exactly these\n"
            "# root-owned wrappers as root, without a password, and nothing else.\n"
            "# Run bin/install again after adding wrappers; don't edit by hand.\n"
            f"Defaults:{user} env_reset\n"
            f"{user} ALL=(root) NOPASSWD: " + ", \\\n    ".join(paths) + "\n"
        )

    def local_settings(self):
        lines = [
            "# The wrappers' settings for this server (defaults: wrappers_settings.py).",
            "# Written once by bin/install; edit as root. PROTECTED_USERS: add the",
            "# server's administrators so no wrapper ever touches their accounts.",
        ]
        lines += [
            f"{key} = {value!r}" for key, value in sorted(self.layout.wrapper_settings.items())
        ]
        return "\n".join(lines) + "\n"

    def tmpfiles(self):
        layout = self.layout
        return (
            "# Recreates the FastCGI socket directory at boot (bin/install).\n"
            f"d {layout.run_dir} 2750 {layout.user} {layout.web_group} -\n"
        )

    def logrotate(self):
        # The portal's log (server errors with tracebacks), the daemon's and
        # the worker's: rotated weekly; the portal's WatchedFileHandler and
        # copytruncate for the others mean nothing needs restarting.
        layout, user = self.layout, self.layout.user
        return (
            f"{layout.log_dir}/*.log {{\n"
            "    weekly\n    rotate 12\n    compress\n    delaycompress\n"
            "    missingok\n    notifempty\n    copytruncate\n"
            f"    su {user} {user}\n}}\n"
        )

    def config(self):
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
            "fcgi_pidfile": layout.pidfile,
            "fcgi_log": layout.log_dir / "fcgi.log",
            "log_file": layout.portal_log,
            "url_prefix": "/backup",
            "admins": [],
        }
        syslog = ""
        if not SYSLOG_SOCKET.exists():
            # No syslog daemon (a container, a host without systemd): every
            # process would note it once, and cron would mail each job's note.
            syslog = (
                f"# No syslog daemon ({SYSLOG_SOCKET}) when bin/install ran: the log file\n"
                "# alone. Remove this line once one runs.\n"
                'syslog_address = ""\n'
            )
        return (
            "# Production settings of the backup portal (backup/settings/production.py).\n"
            "# Written once by bin/install and then kept: edit it, then restart the\n"
            "# daemon (bin/start.sh) and the worker. Readable by root and the service user.\n"
            + "".join(f"{key} = {value(item)}\n" for key, item in entries.items())
            + syslog
            + "# Optional keys (defaults in backup/settings/base.py) are listed in\n"
            "# backup/settings/production.py, e.g. support_contact, default_disk_size\n"
            "# (GiB, 250), default_quota (300), volume_filesystem, email_host, email_from,\n"
            "# alert_email_domain, pool_full_warning_days, alert_channels_allowed,\n"
            "# near_quota_percents, pool_warn_allocated_percent, pool_warn_used_percent.\n"
            "# admins: SSO names made staff.\n"
        )
