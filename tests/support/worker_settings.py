"""Settings for a real task worker started by a test: the test's database
file, the session's wrappers, and the database task backend."""

import os

from backup.settings.test import *  # noqa: F403

DATABASES["default"]["NAME"] = os.environ["BACKUP_TEST_DATABASE"]  # noqa: F405
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
WRAPPERS_PATH = os.environ["BACKUP_TEST_WRAPPERS"]
DIRECTORIES_ROOT = os.environ["BACKUP_TEST_DIRECTORIES_ROOT"]
# With DEBUG on, db_worker runs under the autoreloader, which restarts it
# after --max-tasks instead of exiting.
DEBUG = False
