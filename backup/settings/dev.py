"""The demo: DEBUG on, SQLite and everything else under var/, a stand-in for SSO.

bin/demo builds the loop-file pool and installs the wrappers under var/.
"""

from .base import *  # noqa: F403
from .base import BASE_DIR

DEBUG = True
# Development only: never used outside DEBUG.
SECRET_KEY = "dev-only-not-secret-6f1c8b0e2d"  # noqa: S105
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

VAR_DIR = BASE_DIR / "var"
WRAPPERS_PATH = VAR_DIR / "wrappers"
DIRECTORIES_ROOT = VAR_DIR / "srv" / "userbackup"
SNAPSHOTS_ROOT = VAR_DIR / "srv" / "userbackup-snapshots"
RRD_DIRECTORY = VAR_DIR / "rrd"
# The demo collects every half minute: the last hour shows it moving.
GRAPH_DEFAULT_PERIOD = "hour"

# The demo pool is 20 GiB (virtual), so sizes are scaled down.
DEFAULT_DISK_SIZE = 4
DEFAULT_ADD_SPACE_AMOUNT = 2
DEFAULT_QUOTA = 8

DEV_SSO = True
DEV_SSO_USERS = {"employee": "alice", "admin": "admin"}
BACKUP_ADMINS = ["admin"]
SERVER_HOSTNAME = "127.0.0.1"
# The demo's private smbd (bin/demo) listens here, on the loopback only.
SAMBA_PORT = 4450

EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# Backup alerts print on the console (bin/demo) to <user>@example.com.
ALERT_EMAIL_DOMAIN = "example.com"
PORTAL_URL = "http://127.0.0.1:8000/"
# The demo runs on one machine for one person: webhook and push channels are
# on, and what each is sent is printed too, as the emails are.
ALERT_CHANNELS_ALLOWED = True
ALERT_CHANNELS_PRINT = True
# ... including to a receiver the demo's user starts on this machine.
ALERT_CHANNELS_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
# Demo volumes hold megabytes, not gigabytes: overwriting a demo volume's
# files must still raise the mass-change alert (printed on the console).
MASS_CHANGE_MIN_BYTES = 1024**2
