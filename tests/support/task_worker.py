"""The real database task worker (`manage.py db_worker`) as a test starts
it: the test's database file, the session's wrappers."""

import os
import subprocess
import sys
from pathlib import Path

from django.db import connection

REPO = Path(__file__).resolve().parent.parent.parent


def _environment(portal, settings_module, extra):
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "PYTHONPATH": str(REPO / "tests"),
        "BACKUP_TEST_DATABASE": str(connection.settings_dict["NAME"]),
        "BACKUP_TEST_WRAPPERS": str(portal.path),
        "BACKUP_TEST_DIRECTORIES_ROOT": portal.settings["DIRECTORIES_ROOT"],
        **(extra or {}),
    }


def _command(tasks):
    command = [sys.executable, str(REPO / "manage.py"), "db_worker", "--interval", "0.2"]
    return [*command, "--no-startup-delay", "--max-tasks", str(tasks)]


def run_worker(portal, tasks):
    """Run the worker until it has run ``tasks`` tasks."""
    return subprocess.run(
        _command(tasks),
        env=_environment(portal, "support.worker_settings", None),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def start_worker(portal, tasks, settings_module="support.worker_settings", extra_env=None):
    """Start the worker in the background; the caller kills and waits for it."""
    return subprocess.Popen(
        _command(tasks),
        env=_environment(portal, settings_module, extra_env),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
