"""Tests: the dev settings with a throwaway database; fixtures point the
wrappers at a private installation (tests/conftest.py)."""

from .dev import *  # noqa: F403

DEV_SSO = False
BACKUP_ADMINS = []
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DEFAULT_DISK_SIZE = 1
DEFAULT_ADD_SPACE_AMOUNT = 1
DEFAULT_QUOTA = 3
