"""Settings shared by every environment.

Safe by default: DEBUG is off and there is no SECRET_KEY here; the dev, test
and production modules supply them.
"""

import socket
from pathlib import Path

import xstatic.pkg.bootstrap
from django.utils.translation import gettext_lazy

from . import database

BASE_DIR = Path(__file__).resolve().parent.parent.parent

DEBUG = False
ALLOWED_HOSTS: list[str] = []

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "backup.core",
    "backup.pages",
    "backup.sso",
    "backup.operations",
    "backup.volumes",
    "backup.passwords",
    "backup.staff",
    "backup.discovery",
    "backup.snapshots",
    "backup.stats",
    "backup.samba",
    "backup.deployment",
    "backup.metrics",
    "backup.alerts",
    "backup.checkins",
    "backup.nodes",
    "backup.dashboard",
    "backup.replica",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Check-ins (/ping/<token>) go straight to their view: no session, no
    # sign-in, no CSRF; the token is their only credential.
    "backup.checkins.middleware.CheckInsFirst",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions (it reads the language chosen there), before
    # CommonMiddleware (whose redirects and 404s are then in that language).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "backup.sso.middleware.DevelopmentSSOMiddleware",
    "backup.sso.middleware.ServerRemoteUserMiddleware",
    # Every view needs a sign-in unless marked login_not_required.
    "backup.sso.middleware.SignInRequired",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A UserFacingError a view raised: its sentence as a message and the
    # page the view names, or a page saying it (backup.core.refusals).
    "backup.core.refusals.RefusalMiddleware",
    # After sign-in: remembers a signed-in person's language for emails.
    "backup.pages.middleware.RememberLanguage",
    # After sign-in and sessions: times in the person's own zone.
    "backup.pages.middleware.ActivateTimeZone",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "backup.pages.middleware.MethodNotAllowedPage",
    "csp.middleware.CSPMiddleware",
]

# Content-Security-Policy, set by the portal itself (not left to the web
# server, which may be configured without it): scripts, styles and images
# only from the portal, nothing inline, no plugins, no framing, forms post
# only back to it. The templates have no inline script or style for this.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

AUTHENTICATION_BACKENDS = ["backup.sso.backends.SSOBackend"]

ROOT_URLCONF = "backup.urls"
WSGI_APPLICATION = "backup.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "backup.pages.context_processors.site",
            ],
        },
    },
]

DATABASES = {"default": database.sqlite(BASE_DIR / "var" / "db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# A storage server of a portal with several (README "More than one
# server"): its name as registered with add_node; empty on a portal, and on
# a single-server install, which is its own only node.
NODE_NAME = ""
# A node whose worker has not reported for this long is shown as
# unreachable since its last report.
NODE_SILENT_AFTER_SECONDS = 600

LANGUAGE_CODE = "en"
# Chosen from the browser's Accept-Language, or the footer's switch (a
# cookie); English is the default. Emails use the language a person last
# used the portal in (backup.pages.languages).
LANGUAGES = [("en", "English"), ("fi", "Suomi")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Relative, so that a deployment under /backup/ serves /backup/static/.
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("bootstrap", xstatic.pkg.bootstrap.BASE_DIR),
]

LOGIN_URL = "pages:signed-out"
CSRF_FAILURE_VIEW = "backup.pages.views.csrf_failure"

# Any queue name: each storage server of a portal with several has its own,
# named after it (backup.nodes); a single server uses "default".
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": []}}

CACHES = {
    # Shared by every process of the preforking FastCGI daemon (a per-process
    # memory cache made each child ask the wrappers again for an answer
    # another child had just had). What goes in is JSON text, never objects:
    # Django's backends pickle values, and a str is all they get to pickle.
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": BASE_DIR / "var" / "cache" / "default",
        "OPTIONS": {"MAX_ENTRIES": 10000},
    },
    # The admin page's inventory (backup.staff.inventory), shared by every
    # process of the preforking FastCGI daemon, so that one of them asks the
    # wrappers and the others reuse its answer. It holds JSON text only.
    "inventory": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": BASE_DIR / "var" / "cache" / "inventory",
        # A handful of entries are live; past this many, a third are dropped
        # at random (an inventory two processes took at once may be left over).
        "OPTIONS": {"MAX_ENTRIES": 20},
    },
    # Check-in rate limits (backup.checkins.ratelimit), counted across the
    # daemon's processes: two small entries per token and per address and
    # minute. Bounded: past MAX_ENTRIES a third are dropped at random, which
    # can only forget counts, never refuse anyone.
    "checkins": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": BASE_DIR / "var" / "cache" / "checkins",
        "OPTIONS": {"MAX_ENTRIES": 20000},
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            # Messages may quote what users wrote: control characters escaped.
            "()": "backup.logs.EscapingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s: %(message)s",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"backup": {"handlers": ["console"], "level": "INFO"}},
}

# --- The product's own settings -------------------------------------------

# Where the root-owned wrappers live and how to reach them. Sudo is used
# unless the portal itself runs as root (demo, tests).
WRAPPERS_PATH = Path("/opt/backupmanagement/wrappers")
WRAPPERS_USE_SUDO = None  # None: sudo when not root
WRAPPER_TIMEOUT_SECONDS = 900

# Mount points of the volumes (as in the wrappers' settings); Samba shares
# and the prerequisite checks use it.
DIRECTORIES_ROOT = Path("/srv/userbackup")
# Where root mounts each btrfs volume's top level, holding its snapshots (as
# in the wrappers' settings); Samba's shadow_copy2 reads them from there.
SNAPSHOTS_ROOT = Path("/srv/userbackup-snapshots")

# Sizes in GiB, as in the original.
DEFAULT_DISK_SIZE = 250
DEFAULT_ADD_SPACE_AMOUNT = 50
DEFAULT_QUOTA = 300
# The smallest volume created: a quota below the default size makes a
# volume of the quota, and a quota below this refuses creation.
MIN_VOLUME_GIB = 1
# Filesystem made on new volumes: btrfs (the only one with protected
# snapshots), ext4 or xfs.
VOLUME_FILESYSTEM = "btrfs"

# Single sign-on: the web server authenticates and sets REMOTE_USER.
# Two different REMOTE_USER values never reach the same account unless one
# of these two settings says they are the same person:
# - SSO_REALMS: realms (the part after the last "@", compared exactly) whose
#   names are the company's own accounts: with ["EXAMPLE.COM"],
#   alice@EXAMPLE.COM signs in as alice. A name with any other realm is
#   refused with a page saying so; with the list empty, every name with a
#   realm is. List only realms whose names your identity provider assigns
#   (never one where people choose their own name).
SSO_REALMS: list[str] = []
# - SSO_CASE_INSENSITIVE: True only when the identity provider treats Alice
#   and alice as the same account (Active Directory does; most OpenID
#   Connect providers and Kerberos do not). Then names are lowercased;
#   otherwise a name with capitals is refused, never changed into another.
SSO_CASE_INSENSITIVE = False
# SSO names that are made staff (admin pages) when they sign in.
BACKUP_ADMINS: list[str] = []
# A development-only stand-in for SSO; refused unless DEBUG is on.
DEV_SSO = False

# Shown in connection instructions (\\host\user, smb://host/user).
SERVER_HOSTNAME = socket.getfqdn()
# Who to contact, inside sentences ("please contact your IT helpdesk"). The
# default is translated like every sentence it appears in; a configured
# support_contact (a name, an address) is shown as written.
SUPPORT_CONTACT = gettext_lazy("your IT helpdesk")

# Samba: `manage.py samba_config` prints smb.conf from these (INSTALL.samba.txt),
# and the connection instructions show the same port.
SAMBA_PORT = 445
# True only where netatalk serves AFP too (INSTALL.afp.txt): the connect steps
# then show an afp:// address for Macs older than 10.12.
AFP_OFFERED = False
SAMBA_WORKGROUP = "WORKGROUP"
SAMBA_SERVER_STRING = "Backup storage"
# SMB3_00 admits Windows 8+, macOS 10.12+ (Time Machine over SMB) and Linux;
# SMB2_10 would admit Windows 7, without encryption.
SAMBA_MIN_PROTOCOL = "SMB3_00"
SAMBA_ENCRYPTION = "desired"  # off, if_required, desired or required
# The icon Finder shows for the server (fruit:model, Avahi's device-info).
SAMBA_FRUIT_MODEL = "RackMac"
# fruit:time machine max size, e.g. "500G"; None: the volume's own size.
SAMBA_TIME_MACHINE_MAX_SIZE = None

# Seconds the dashboard may reuse one volume query.
VOLUME_CACHE_SECONDS = 30

# Seconds the admin page may reuse one inventory of the pool and every volume
# (two privileged calls and a statvfs per volume); the page says when it was
# taken and offers to take a new one.
STAFF_INVENTORY_MAX_AGE = 10

# A running operation's worker says it is alive this often (seconds); one
# silent for OPERATION_STALE_SECONDS is taken for dead, its operation ended
# as interrupted and undone where its kind can be (a half-made volume).
# A worker killed on this host is recognised at once by its process id.
OPERATION_HEARTBEAT_SECONDS = 15
OPERATION_STALE_SECONDS = 120
# An operation no worker has started after this long no longer blocks the
# volume (nothing of it was done).
OPERATION_QUEUED_HOURS = 6

# Usage and disk-activity history (backup.stats): the RRD files, the graphs'
# default period, and when the admin page warns that the pool fills up.
RRD_DIRECTORY = Path("/var/lib/backupmanagement/rrd")
GRAPH_DEFAULT_PERIOD = "day"  # hour, day, week, month or year
# The projection fits a line to the pool's use over this many days...
POOL_GROWTH_WINDOW_DAYS = 7
# ...and warns when the pool would be full in fewer days than this.
POOL_FULL_WARNING_DAYS = 30

# Backup discovery and alerts (backup.discovery). A computer is stale when
# its last backup is older than its owner's threshold (1-365 days, chosen on
# the dashboard; this one until they do).
STALE_AFTER_DAYS = 7
# A backup seen in progress for longer than this is "stalled" (a damaged or
# abandoned repository, a first Time Machine backup that never finishes),
# shown so and alerted like a stale one.
IN_PROGRESS_STALLED_AFTER_HOURS = 24
# The admins' summary lists volumes with nothing on them this long after
# they were created.
NEVER_USED_AFTER_DAYS = 14
# Alerts go to the user's email address, else to <user name>@this domain
# ("": people without an address get none; the admins' summary names them).
ALERT_EMAIL_DOMAIN = ""
# The admins' summary goes to these addresses, else to every staff user's.
ALERT_ADMIN_EMAILS: list[str] = []
# Besides email, people may send their alerts to webhooks (Slack, Teams,
# Discord, Google Chat, Mattermost, Matrix, JSON/form) and ntfy/Gotify push
# services (backup.alerts.channels; the request is the portal's own, sent by
# backup.alerts.outbound).
# Off unless the administrator turns it on: the server then posts to
# addresses any employee typed, from inside the company network (next to
# the storage and often to management interfaces a firewall keeps away from
# laptops). The body is fixed and the answer is never shown, but where the
# server may reach is the administrator's call, made knowing its network.
ALERT_CHANNELS_ALLOWED = False
# Channels never reach loopback, link-local (169.254.169.254), private,
# shared or reserved addresses, checked on the address actually connected
# to, unless the address is in one of these networks (e.g. an internal
# ntfy server: ["10.1.2.3/32"]). Empty: only public addresses.
ALERT_CHANNELS_ALLOWED_NETWORKS: list[str] = []
# Also print each channel's message on standard output (the demo).
ALERT_CHANNELS_PRINT = False
# A volume's owner is alerted as its use passes each of these percentages,
# once per threshold until use drops below it again (update_df_stats). The
# admin page counts a volume past the lowest of them as nearly full: the
# same volumes whose owners have been warned.
NEAR_QUOTA_PERCENTS: list[int] = [80, 90, 95]
# The admin page warns, and the admins are alerted once, when the pool's
# allocated or used space passes these percentages of its size.
POOL_WARN_ALLOCATED_PERCENT = 90
POOL_WARN_USED_PERCENT = 80
# The portal's address in emails, ending in /; "" makes
# https://SERVER_HOSTNAME<FORCE_SCRIPT_NAME>/.
PORTAL_URL = ""

# Production deployment (bin/install, runfcgi, check_prerequisities).
SERVICE_USER = "backupmanagement"
SAMBA_CONFIG = Path("/etc/samba/smb.conf")
FCGI_SOCKET = Path("/run/backupmanagement/backup.sock")
# The runner's, not the daemon's: bin/start.sh (start-stop-daemon) keeps the
# pidfile and sends the daemon's output to the log (manage.py runfcgi --runner-files).
FCGI_PIDFILE = Path("/run/backupmanagement/backup.pid")
FCGI_LOG_FILE = Path("/var/log/backupmanagement/fcgi.log")

# Protected snapshots (backup.snapshots). The wrappers decide and enforce the
# policy (root's wrappers_settings); these mirror it so the pages can explain
# it; keep them equal to root's values. The portal never deletes a snapshot.
SNAPSHOT_PROTECTION_DAYS = 14
# How often take_snapshots runs (cron's and the timer's */15): each hour's
# first snapshot is protected for the days above, the ones between while
# retention keeps them at this resolution ("frequent").
SNAPSHOT_INTERVAL_MINUTES = 15
# The newest snapshot in each of the last N intervals, hours, days, ISO
# weeks, months.
SNAPSHOT_RETENTION = {"frequent": 16, "hourly": 24, "daily": 14, "weekly": 8, "monthly": 12}
# Mass-change alert (backup.snapshots.detection has the rules): data that
# existed being destroyed (overwritten, truncated, deleted), never new data.
# At least MASS_CHANGE_MIN_BYTES and MASS_CHANGE_MIN_FILES destroyed: below
# that a restore costs little, and one big file rewritten (a disk image, a
# mailbox) is not an attack.
MASS_CHANGE_MIN_BYTES = 256 * 1024**2
MASS_CHANGE_MIN_FILES = 10
# ...and at least this share of what the volume held, between two snapshots
# or over the last 24 hours. Backup tools rewrite a few percent per run;
# ransomware destroys (nearly) everything, and deleting half a volume is
# worth a look either way.
MASS_CHANGE_SHARE = 0.5
# With evidence of ransomware (files renamed to one new extension, at least
# MASS_CHANGE_MIN_FILES of them, or one new small file name in at least
# MASS_CHANGE_NOTE_FOLDERS folders: ransom notes), this share is enough.
MASS_CHANGE_EVIDENCE_SHARE = 0.2
MASS_CHANGE_NOTE_FOLDERS = 5
# No longer read by the rules (the median of data written counted new
# files as change); kept while backup.toml files still set it.
MASS_CHANGE_MEDIAN_FACTOR = 10
# Most folder entries one browse page shows (the wrapper has its own cap).
SNAPSHOT_BROWSE_PAGE = 500

# The second server (backup.replica; README "Second server"). Off: nothing
# about a replica is read, shown, alerted or exported. On: update_df_stats
# stores the replica's last report (replica-status.py), the pages show it.
REPLICA_ENABLED = False
# How often the replica pulls (its REPLICA_INTERVAL_MINUTES, hourly): a
# volume whose newest copy is more than twice this behind the primary's
# newest snapshot is behind, and a replica silent for twice this is
# unreachable. Not the snapshot interval: copies arrive once per pull, so
# a lag of up to one pull interval plus one snapshot interval is normal.
REPLICA_INTERVAL_MINUTES = 60
# The replica's address as the primary reaches it ("" : not checked), its
# ssh port, and the private keys on the primary that must NOT log in to it:
# check_prerequisities offers each (and the checking account's own) to the
# replica as root and as SERVICE_USER and passes only when all are refused.
REPLICA_HOST = ""
REPLICA_SSH_PORT = 22
REPLICA_PRIMARY_IDENTITIES = [
    "/root/.ssh/id_ed25519",
    "/root/.ssh/id_ecdsa",
    "/root/.ssh/id_rsa",
]

# Check-ins (backup.checkins): computers report their own backups to
# /ping/<token> (the Healthchecks protocol), which the web server serves
# without sign-in. At most this many check-ins a minute per token, and per
# client address (a whole office behind one NAT address shares the latter:
# 1,000 computers checking in within a minute must pass)...
CHECKIN_RATE_PER_TOKEN = 20
CHECKIN_RATE_PER_ADDRESS = 3000
# ...and at most this many bytes of a check-in's body kept as its log
# (Healthchecks' own default; borgmatic trims what it sends to it).
CHECKIN_LOG_MAX_BYTES = 10000

# Prometheus /metrics (backup.metrics): served to these networks (the
# address the web server saw, REMOTE_ADDR), and to any scraper sending
# "Authorization: Bearer <METRICS_TOKEN>". Loopback by default: a
# Prometheus on the backup server itself. "" accepts no token; one that is
# set must have at least 32 characters (checked at start).
METRICS_ALLOWED_NETWORKS: list[str] = ["127.0.0.1/32", "::1/128"]
METRICS_TOKEN = ""
