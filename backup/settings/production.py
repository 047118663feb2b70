"""Production: DEBUG off, every secret and path from a root-written TOML file
outside the repository (bin/install writes it; BACKUP_CONFIG names another).

The file is data, not code: nothing in it is executed. Every key has a type
(config_file.py): a key this module does not know, or a value of the wrong
type, is refused at start, so a misspelt or mistyped setting can't pass
unnoticed.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from . import config_file, database
from .base import *  # noqa: F403
from .config_file import INT_LIST, INT_TABLE, STR_LIST

CONFIG_FILE = Path(os.environ.get("BACKUP_CONFIG", "/etc/backupmanagement/backup.toml"))

# Production's own defaults, before the file may change them.
DEBUG = False
DEV_SSO = False
# HTTPS is terminated by Apache, which passes HTTPS=on through FastCGI.
SECURE_SSL_REDIRECT = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = 31536000
# Subdomains of the portal's own host name, which rarely exist.
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# The preload list is for public sites; an intranet host can't be on it.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SILENCED_CHECKS: list[str] = []
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
USE_X_FORWARDED_HOST = False
EMAIL_HOST = "localhost"
DEFAULT_FROM_EMAIL = "backup@localhost"
URL_PREFIX = "/backup"
LOG_FILE = None
LOG_SYSLOG_ADDRESS = "/dev/log"
POSTGRESQL_HOST = ""
POSTGRESQL_PORT = 5432
POSTGRESQL_DATABASE = ""
POSTGRESQL_USER = ""
POSTGRESQL_PASSWORD_FILE: Path | None = None

# TOML key -> (setting, type). Most keys are the setting's name in lower case
# (defaults and meaning in base.py).
_KEYS = {
    key: (key.upper(), kind)
    for key, kind in {
        "secret_key": str,
        "allowed_hosts": STR_LIST,
        "static_root": Path,
        "wrappers_path": Path,
        "directories_root": Path,
        "snapshots_root": Path,
        "volume_filesystem": str,
        "server_hostname": str,
        "support_contact": str,
        "default_disk_size": int,
        "default_add_space_amount": int,
        "default_quota": int,
        "sso_realms": STR_LIST,
        "sso_case_insensitive": bool,
        "service_user": str,
        "samba_config": Path,
        "samba_port": int,
        "samba_workgroup": str,
        "samba_server_string": str,
        "samba_min_protocol": str,
        "samba_encryption": str,
        "samba_fruit_model": str,
        "samba_time_machine_max_size": str,
        "afp_offered": bool,
        "rrd_directory": Path,
        "graph_default_period": str,
        "pool_growth_window_days": int,
        "pool_full_warning_days": int,
        "staff_inventory_max_age": int,
        "fcgi_socket": Path,
        "fcgi_pidfile": Path,
        "stale_after_days": int,
        "never_used_after_days": int,
        "alert_email_domain": str,
        "alert_admin_emails": STR_LIST,
        "portal_url": str,
        "email_host": str,
        "email_port": int,
        "in_progress_stalled_after_hours": int,
        "min_volume_gib": int,
        "operation_heartbeat_seconds": int,
        "operation_stale_seconds": int,
        "operation_queued_hours": int,
        "snapshot_protection_days": int,
        "snapshot_interval_minutes": int,
        "snapshot_retention": INT_TABLE,
        "mass_change_min_bytes": int,
        "mass_change_share": float,
        "mass_change_min_files": int,
        "mass_change_evidence_share": float,
        "mass_change_note_folders": int,
        "mass_change_median_factor": int,
        "url_prefix": str,
        "log_file": Path,
        "metrics_allowed_networks": STR_LIST,
        "metrics_token": str,
        "checkin_rate_per_token": int,
        "checkin_rate_per_address": int,
        "checkin_log_max_bytes": int,
        "alert_channels_allowed": bool,
        "alert_channels_allowed_networks": STR_LIST,
        "near_quota_percents": INT_LIST,
        "pool_warn_allocated_percent": int,
        "pool_warn_used_percent": int,
        "node_name": str,
        "node_silent_after_seconds": int,
        "replica_enabled": bool,
        "replica_interval_minutes": int,
        "replica_host": str,
        "replica_ssh_port": int,
        "replica_primary_identities": STR_LIST,
    }.items()
} | {
    "database": ("DATABASE_FILE", Path),
    "admins": ("BACKUP_ADMINS", STR_LIST),
    "fcgi_log": ("FCGI_LOG_FILE", Path),
    "email_from": ("DEFAULT_FROM_EMAIL", str),
    "hsts_seconds": ("SECURE_HSTS_SECONDS", int),
    "hsts_include_subdomains": ("SECURE_HSTS_INCLUDE_SUBDOMAINS", bool),
    "ssl_redirect": ("SECURE_SSL_REDIRECT", bool),
    # "" turns syslog off (a host without a syslog daemon).
    "syslog_address": ("LOG_SYSLOG_ADDRESS", str),
    # Ids of checks an admin has looked at and accepts, such as
    # "backup.prerequisites.W012" (check_prerequisities leaves them out).
    "silenced_checks": ("SILENCED_CHECKS", STR_LIST),
    # PostgreSQL, shared by the portal and the storage servers' workers when
    # there is more than one server (backup/settings/database.py); unset,
    # the portal uses the SQLite file ``database``, whose directory holds the
    # caches either way.
    "postgresql_host": ("POSTGRESQL_HOST", str),
    "postgresql_port": ("POSTGRESQL_PORT", int),
    "postgresql_database": ("POSTGRESQL_DATABASE", str),
    "postgresql_user": ("POSTGRESQL_USER", str),
    "postgresql_password_file": ("POSTGRESQL_PASSWORD_FILE", Path),
}
_REQUIRED = ("secret_key", "allowed_hosts", "database", "static_root")

_config = config_file.load(CONFIG_FILE)
for _key in _REQUIRED:
    if not _config.get(_key):
        raise ImproperlyConfigured(f"{CONFIG_FILE} must set {_key}")
config_file.apply(CONFIG_FILE, _config, _KEYS, globals())
SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, *SILENCED_CHECKS]

if POSTGRESQL_HOST:
    DATABASES = {
        "default": database.postgresql(
            host=POSTGRESQL_HOST,
            port=POSTGRESQL_PORT,
            name=POSTGRESQL_DATABASE,
            user=POSTGRESQL_USER,
            password_file=POSTGRESQL_PASSWORD_FILE,
        )
    }
else:
    DATABASES = {"default": database.sqlite(DATABASE_FILE)}  # noqa: F405 (from the config file)
# Beside the database, in the service user's data directory.
CACHES["inventory"]["LOCATION"] = Path(DATABASE_FILE).parent / "cache" / "inventory"  # noqa: F405
CACHES["default"]["LOCATION"] = Path(DATABASE_FILE).parent / "cache" / "default"  # noqa: F405
CACHES["checkins"]["LOCATION"] = Path(DATABASE_FILE).parent / "cache" / "checkins"  # noqa: F405

# Served under a prefix (/backup/ as in the original). Apache passes it as
# SCRIPT_NAME, but it is fixed here too: a relative STATIC_URL is resolved
# (and cached) on first use, which in a daemon happens at startup, outside
# any request; and the task worker builds URLs without a request at all.
URL_PREFIX = URL_PREFIX.rstrip("/")
FORCE_SCRIPT_NAME = URL_PREFIX or None
STATIC_URL = f"{URL_PREFIX}/static/"
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Server errors (with tracebacks), wrapper refusals and failures, and
# security events go to the log file (rotated by logrotate, which the
# WatchedFileHandler notices) and to syslog/journald: the 500 page says the
# details were recorded, and they are. Never only to mail, which with no
# ADMINS goes nowhere. A host without a syslog daemon (no /dev/log) gets one
# line saying so in the daemon's output, not a traceback per record
# (backup.logs.SyslogIfPresent).
LOGGING = {
    **LOGGING,  # noqa: F405 (base.py's: its escaping "plain" formatter and console)
    "formatters": {
        **LOGGING["formatters"],  # noqa: F405
        "syslog": {
            "()": "backup.logs.EscapingFormatter",
            "format": "backupmanagement[%(process)d]: %(levelname)s %(name)s: %(message)s",
        },
    },
    "loggers": {
        name: {"handlers": ["console"], "level": "INFO", "propagate": False}
        for name in ("backup", "django.request", "django.security", "django_tasks")
    },
}
_recorders = []
if LOG_FILE:
    LOGGING["handlers"]["file"] = {
        "class": "logging.handlers.WatchedFileHandler",
        "filename": str(LOG_FILE),
        "formatter": "plain",
    }
    _recorders.append("file")
if LOG_SYSLOG_ADDRESS:
    LOGGING["handlers"]["syslog"] = {
        "class": "backup.logs.SyslogIfPresent",
        "address": LOG_SYSLOG_ADDRESS,
        "facility": "daemon",
        "formatter": "syslog",
    }
    _recorders.append("syslog")
for _logger in LOGGING["loggers"].values():
    _logger["handlers"] = _recorders or ["console"]
# The FastCGI daemon's own comings and goings (serving, stopped, a stale
# socket replaced) also go to its stderr: its fcgi.log under bin/start.sh
# (the journal under systemd), where an admin restarting it looks.
LOGGING["loggers"]["backup.deployment.fcgi"] = {
    "handlers": list(dict.fromkeys([*(_recorders or []), "console"])),
    "level": "INFO",
    "propagate": False,
}
