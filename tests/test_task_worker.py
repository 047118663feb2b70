"""Slow operations run off the request in the real database task worker:
the page shows them running, survives a reload, refuses a second request
meanwhile, and shows the outcome once the worker is done."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from backup.operations.models import Operation
from backup.volumes.models import Volume

pytestmark = [pytest.mark.root, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parent.parent


def run_worker(portal, tasks):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "support.worker_settings",
        "PYTHONPATH": str(REPO / "tests"),
        "BACKUP_TEST_DATABASE": str(connection.settings_dict["NAME"]),
        "BACKUP_TEST_WRAPPERS": str(portal.path),
        "BACKUP_TEST_DIRECTORIES_ROOT": portal.settings["DIRECTORIES_ROOT"],
    }
    command = [sys.executable, str(REPO / "manage.py"), "db_worker", "--interval", "0.2"]
    command += ["--no-startup-delay", "--max-tasks", str(tasks)]
    return subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)


def test_create_runs_in_the_worker_and_the_page_follows(portal, make_employee, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    employee = make_employee()
    client = Client(REMOTE_USER=employee.username)

    response = client.post("/volume/create/")
    operation = Operation.objects.get(owner_name=employee.username)
    assert response["Location"] == f"/operations/{operation.pk}/"
    assert operation.state == Operation.State.QUEUED

    for _reload in range(2):
        page = client.get(f"/operations/{operation.pk}/").content.decode()
        assert "Waiting to start" in page or "waiting to start" in page
        assert "operation-progress.js" in page
        assert '<meta http-equiv="refresh"' in page
    assert "waiting to start" in client.get("/").content.decode()
    assert client.get(f"/operations/{operation.pk}/status/").json()["active"] is True

    again = client.post("/volume/create/", follow=True).content.decode()
    assert "still in progress" in again
    assert Operation.objects.filter(owner_name=employee.username).count() == 1

    worker = run_worker(portal, tasks=1)
    assert worker.returncode == 0, worker.stderr

    operation.refresh_from_db()
    assert operation.state == Operation.State.SUCCEEDED, operation.detail
    assert Volume.objects.filter(owner=employee).exists()
    status = client.get(f"/operations/{operation.pk}/status/").json()
    assert status == {
        "state": "succeeded",
        "state_display": "Done",
        "active": False,
        "message": operation.message,
    }
    assert "backup volume is ready" in client.get(f"/operations/{operation.pk}/").content.decode()


def test_check_now_is_scanned_by_the_worker_not_the_request(portal, make_employee, settings):
    """The press queues a check; the real worker scans the volume; the page
    then shows the new result with the time it was taken."""
    employee = make_employee()
    client = Client(REMOTE_USER=employee.username)
    client.post("/volume/create/")
    assert Operation.objects.get(owner_name=employee.username).state == "succeeded"
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    volume = Volume.objects.get(owner=employee)
    bundle = Path(portal.settings["DIRECTORIES_ROOT"]) / volume.account / "Mac.sparsebundle"
    (bundle / "bands").mkdir(parents=True)
    (bundle / "Info.plist").write_bytes(b"<plist><dict/></plist>")
    subprocess.run(["chown", "-R", f"{volume.account}:", str(bundle)], check=True)

    client.post("/backups/check/")
    check = Operation.objects.get(owner_name=employee.username, kind="check_backups")
    assert check.state == Operation.State.QUEUED
    assert '<tr data-testid="backup-source">' not in client.get("/").content.decode()

    worker = run_worker(portal, tasks=1)
    assert worker.returncode == 0, worker.stderr
    check.refresh_from_db()
    assert check.state == Operation.State.SUCCEEDED, check.detail
    page = client.get("/").content.decode()
    assert '<tr data-testid="backup-source">' in page
    assert "Found by the check of" in page
