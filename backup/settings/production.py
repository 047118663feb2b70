"""Production: DEBUG off, every secret and path from a root-written TOML file
outside the repository (bin/install writes it; BACKUP_CONFIG names another).

The file is data, not code: nothing in it is executed.
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
WRAPPERS_PATH = Path(_config.get("wrappers_path", "/opt/backupmanagement/wrappers"))
DIRECTORIES_ROOT = Path(_config.get("directories_root", "/srv/userbackup"))
VOLUME_FILESYSTEM = _config.get("volume_filesystem", "ext4")
SERVER_HOSTNAME = _config.get("server_hostname", SERVER_HOSTNAME)  # noqa: F405
SUPPORT_CONTACT = _config.get("support_contact", SUPPORT_CONTACT)  # noqa: F405
BACKUP_ADMINS = list(_config.get("admins", []))
DEFAULT_DISK_SIZE = int(_config.get("default_disk_size", DEFAULT_DISK_SIZE))  # noqa: F405
DEFAULT_ADD_SPACE_AMOUNT = int(
    _config.get("default_add_space_amount", DEFAULT_ADD_SPACE_AMOUNT)  # noqa: F405
)
DEFAULT_QUOTA = int(_config.get("default_quota", DEFAULT_QUOTA))  # noqa: F405
# The account the FastCGI daemon and the worker run as (bin/install creates
# it); check_prerequisities tests sudo from its point of view.
SERVICE_USER = _config.get("service_user", "backupmanagement")
SAMBA_CONFIG = Path(_config.get("samba_config", "/etc/samba/smb.conf"))
# What `manage.py samba_config` writes into smb.conf (INSTALL.samba.txt).
SAMBA_PORT = int(_config.get("samba_port", SAMBA_PORT))  # noqa: F405
SAMBA_WORKGROUP = _config.get("samba_workgroup", SAMBA_WORKGROUP)  # noqa: F405
SAMBA_SERVER_STRING = _config.get("samba_server_string", SAMBA_SERVER_STRING)  # noqa: F405
SAMBA_MIN_PROTOCOL = _config.get("samba_min_protocol", SAMBA_MIN_PROTOCOL)  # noqa: F405
SAMBA_ENCRYPTION = _config.get("samba_encryption", SAMBA_ENCRYPTION)  # noqa: F405
SAMBA_FRUIT_MODEL = _config.get("samba_fruit_model", SAMBA_FRUIT_MODEL)  # noqa: F405
SAMBA_TIME_MACHINE_MAX_SIZE = _config.get(
    "samba_time_machine_max_size",
    SAMBA_TIME_MACHINE_MAX_SIZE,  # noqa: F405
)
RRD_DIRECTORY = Path(_config.get("rrd_directory", "/var/lib/backupmanagement/rrd"))
# runfcgi (bin/start.sh, the systemd unit): where it listens and logs.
FCGI_SOCKET = Path(_config.get("fcgi_socket", "/run/backupmanagement/backup.sock"))
FCGI_PIDFILE = Path(_config.get("fcgi_pidfile", "/run/backupmanagement/backup.pid"))
FCGI_LOG_FILE = Path(_config.get("fcgi_log", "/var/log/backupmanagement/fcgi.log"))
SSO_STRIP_REALM = bool(_config.get("sso_strip_realm", True))
SSO_LOWERCASE = bool(_config.get("sso_lowercase", True))

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
EMAIL_PORT = int(_config.get("email_port", 25))
DEFAULT_FROM_EMAIL = _config.get("email_from", "backup@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
STALE_AFTER_DAYS = int(_config.get("stale_after_days", STALE_AFTER_DAYS))  # noqa: F405
NEVER_USED_AFTER_DAYS = int(
    _config.get("never_used_after_days", NEVER_USED_AFTER_DAYS)  # noqa: F405
)
ALERT_EMAIL_DOMAIN = _config.get("alert_email_domain", "")
ALERT_ADMIN_EMAILS = list(_config.get("alert_admin_emails", []))
PORTAL_URL = _config.get("portal_url", "")

_log_file = _config.get("log_file")
if _log_file:
    LOGGING["handlers"]["file"] = {  # noqa: F405
        "class": "logging.handlers.WatchedFileHandler",
        "filename": _log_file,
        "formatter": "plain",
    }
    LOGGING["loggers"]["backup"]["handlers"].append("file")  # noqa: F405
