"""Slow operations run off the request in the real database task worker:
the page shows them running, survives a reload, refuses a second request
meanwhile, and shows the outcome once the worker is done."""

import subprocess
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from backup.operations.models import Operation
from backup.volumes.models import Volume
from support.task_worker import run_worker, start_worker
from support.volume_traces import NOTHING, traces

pytestmark = [pytest.mark.root, pytest.mark.django_db(transaction=True)]


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


def wait_until(condition, seconds):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_a_create_cut_short_by_a_dead_worker_is_undone_and_can_be_made_again(
    portal, make_employee, settings, tmp_path
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    employee = make_employee()
    name = employee.username
    client = Client(REMOTE_USER=name)
    client.post("/volume/create/")
    operation = Operation.objects.get(owner_name=name)

    marker = tmp_path / "paused"
    worker = start_worker(
        portal, 1, "support.pausing_worker_settings", {"BACKUP_TEST_PAUSE_MARKER": str(marker)}
    )
    try:
        assert wait_until(marker.exists, 120), worker.stderr.read() if worker.poll() else ""
        # Half-way: everything on the host exists, nothing in the portal.
        assert all(traces(portal, name).values()), traces(portal, name)
        operation.refresh_from_db()
        assert operation.state == Operation.State.RUNNING
        assert not Volume.objects.filter(owner=employee).exists()
    finally:
        worker.kill()
        worker.communicate()

    # The next look at the volume shows the worker gone, without writing;
    # the periodic job then ends the create as interrupted and a cleanup
    # holds the volume until the worker is back.
    assert "was interrupted" in client.get("/").content.decode()
    operation.refresh_from_db()
    assert operation.state == Operation.State.RUNNING
    settings.RRD_DIRECTORY = tmp_path / "rrd"
    call_command("update_df_stats")
    page = client.get("/").content.decode()
    operation.refresh_from_db()
    assert operation.state == Operation.State.FAILED
    assert "was interrupted" in operation.message
    cleanup = Operation.objects.get(owner_name=name, kind=Operation.Kind.CLEANUP)
    assert cleanup.state == Operation.State.QUEUED
    assert cleanup.parameters == {"interrupted": operation.pk}
    assert "Clean up after an interrupted operation" in page
    refused = client.post("/volume/create/", follow=True).content.decode()
    assert "still in progress" in refused

    restarted = run_worker(portal, tasks=1)
    assert restarted.returncode == 0, restarted.stderr
    cleanup.refresh_from_db()
    assert cleanup.state == Operation.State.SUCCEEDED, cleanup.detail
    assert traces(portal, name) == NOTHING
    assert "You can create your volume again" in client.get("/").content.decode()

    client.post("/volume/create/")
    again = Operation.objects.filter(owner_name=name, kind=Operation.Kind.CREATE).latest("id")
    assert again.pk != operation.pk
    finished = run_worker(portal, tasks=1)
    assert finished.returncode == 0, finished.stderr
    again.refresh_from_db()
    assert again.state == Operation.State.SUCCEEDED, again.detail
    assert Volume.objects.filter(owner=employee).exists()
    assert all(traces(portal, name).values())


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
    (bundle / "com.apple.TimeMachine.MachineID.plist").write_bytes(b"<plist><dict/></plist>")
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
