"""Production: DEBUG off, every secret and path from a root-written TOML file
outside the repository (bin/install writes it; BACKUP_CONFIG names another).

The file is data, not code: nothing in it is executed. A key this module
does not know is refused, so a misspelt setting can't pass unnoticed.
"""

import os
import tomllib
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403

CONFIG_FILE = Path(os.environ.get("BACKUP_CONFIG", "/etc/backupmanagement/backup.toml"))

try:
    with CONFIG_FILE.open("rb") as config_file:
        _config = tomllib.load(config_file)
except (OSError, tomllib.TOMLDecodeError) as error:
    raise ImproperlyConfigured(f"cannot read {CONFIG_FILE}: {error}") from error


def _required(key):
    value = _config.get(key)
    if not value:
        raise ImproperlyConfigured(f"{CONFIG_FILE} must set {key}")
    return value


DEBUG = False
DEV_SSO = False
SECRET_KEY = _required("secret_key")
ALLOWED_HOSTS = list(_required("allowed_hosts"))
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": _required("database"),
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
    }
}
STATIC_ROOT = Path(_required("static_root"))

# Optional keys: the setting of the same name in capitals (defaults in
# base.py), converted with the given type; a few keys have other names.
_OPTIONAL = {
    "wrappers_path": Path,
    "directories_root": Path,
    "volume_filesystem": str,
    "server_hostname": str,
    "support_contact": str,
    "default_disk_size": int,
    "default_add_space_amount": int,
    "default_quota": int,
    "sso_strip_realm": bool,
    "sso_lowercase": bool,
    "service_user": str,
    "samba_config": Path,
    "samba_port": int,
    "samba_workgroup": str,
    "samba_server_string": str,
    "samba_min_protocol": str,
    "samba_encryption": str,
    "samba_fruit_model": str,
    "samba_time_machine_max_size": str,
    "rrd_directory": Path,
    "graph_default_period": str,
    "pool_growth_window_days": int,
    "pool_full_warning_days": int,
    "fcgi_socket": Path,
    "fcgi_pidfile": Path,
    "stale_after_days": int,
    "never_used_after_days": int,
    "alert_email_domain": str,
    "alert_admin_emails": list,
    "portal_url": str,
    "email_host": str,
    "snapshot_protection_days": int,
    "snapshot_retention": dict,
    "mass_change_min_bytes": int,
    "mass_change_share": float,
    "mass_change_median_factor": int,
    "email_port": int,
}
_RENAMED = {
    "admins": ("BACKUP_ADMINS", list),
    "fcgi_log": ("FCGI_LOG_FILE", Path),
    "email_from": ("DEFAULT_FROM_EMAIL", str),
    "hsts_seconds": ("SECURE_HSTS_SECONDS", int),
    "hsts_include_subdomains": ("SECURE_HSTS_INCLUDE_SUBDOMAINS", bool),
    "ssl_redirect": ("SECURE_SSL_REDIRECT", bool),
}
_OTHER_KEYS = {"secret_key", "allowed_hosts", "database", "static_root", "url_prefix", "log_file"}

_unknown = sorted(set(_config) - set(_OPTIONAL) - set(_RENAMED) - _OTHER_KEYS)
if _unknown:
    raise ImproperlyConfigured(f"{CONFIG_FILE}: unknown keys {', '.join(_unknown)}")
for _key, (_name, _type) in {
    **{key: (key.upper(), kind) for key, kind in _OPTIONAL.items()},
    **_RENAMED,
}.items():
    if _key in _config:
        globals()[_name] = _type(_config[_key])

# HTTPS is terminated by Apache, which passes HTTPS=on through FastCGI.
SECURE_SSL_REDIRECT = bool(_config.get("ssl_redirect", True))
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = int(_config.get("hsts_seconds", 31536000))
# Subdomains of the portal's own host name, which rarely exist.
SECURE_HSTS_INCLUDE_SUBDOMAINS = bool(_config.get("hsts_include_subdomains", True))
# The preload list is for public sites; an intranet host can't be on it.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Served under a prefix (/backup/ as in the original). Apache passes it as
# SCRIPT_NAME, but it is fixed here too: a relative STATIC_URL is resolved
# (and cached) on first use, which in a daemon happens at startup, outside
# any request; and the task worker builds URLs without a request at all.
URL_PREFIX = _config.get("url_prefix", "/backup").rstrip("/")
FORCE_SCRIPT_NAME = URL_PREFIX or None
STATIC_URL = f"{URL_PREFIX}/static/"
USE_X_FORWARDED_HOST = False

EMAIL_HOST = _config.get("email_host", "localhost")
DEFAULT_FROM_EMAIL = _config.get("email_from", "backup@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

_log_file = _config.get("log_file")
if _log_file:
    LOGGING["handlers"]["file"] = {  # noqa: F405
        "class": "logging.handlers.WatchedFileHandler",
        "filename": _log_file,
        "formatter": "plain",
    }
    LOGGING["loggers"]["backup"]["handlers"].append("file")  # noqa: F405
