"""Tests: the dev settings with a throwaway database; fixtures point the
wrappers at a private installation (tests/conftest.py)."""

import os
import tempfile
from pathlib import Path

from .dev import *  # noqa: F403

DEV_SSO = False
BACKUP_ADMINS = []
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ALERT_CHANNELS_PRINT = False
# Production's default: tests that post to a loopback receiver allow it.
ALERT_CHANNELS_ALLOWED_NETWORKS = []
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": []}}
DEFAULT_DISK_SIZE = 1
DEFAULT_ADD_SPACE_AMOUNT = 1
DEFAULT_QUOTA = 3
# The standard SMB port; tests that start smbd choose a free one themselves.
SAMBA_PORT = 445

# One test process: the admin page's inventory in memory (tests/conftest.py
# empties it before each test; test_staff_overview.py tries the file cache).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "default"},
    "inventory": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "inv"},
    "checkins": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "chk"},
}

# A file, not memory, so that a real task worker (a second process) can share
# the test database.
DATABASES["default"]["TEST"] = {  # noqa: F405
    "NAME": str(Path(tempfile.gettempdir()) / f"backup-test-{os.getpid()}.sqlite3")
}

# Browser tests sign people in through this stand-in for the web server
# (tests/support/browser_sso.py); it does nothing unless a test sets a user.
_server_sso = MIDDLEWARE.index("backup.sso.middleware.ServerRemoteUserMiddleware")  # noqa: F405
MIDDLEWARE = [
    *MIDDLEWARE[:_server_sso],  # noqa: F405
    "support.browser_sso.TestServerMiddleware",
    *MIDDLEWARE[_server_sso:],  # noqa: F405
]
