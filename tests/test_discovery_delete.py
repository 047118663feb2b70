"""Deleting one computer's backups from the dashboard, on a real volume:
the owner picks a source the last scan found, types its name, and the
task deletes it as the user; anything else is refused with nothing lost."""

import plistlib
from pathlib import Path

import pytest
from django.test import Client

from backup.discovery import scans
from backup.discovery.models import BackupScan
from backup.operations.models import Operation
from backup.volumes import requests as volumes
from backup.volumes.models import Volume
from support import backup_tools

pytestmark = [pytest.mark.root, pytest.mark.django_db(transaction=True)]


def bundle(root, name):
    path = root / name
    (path / "bands").mkdir(parents=True)
    (path / "bands" / "0").write_bytes(b"band")
    (path / "Info.plist").write_bytes(plistlib.dumps({"band-size": 8388608}))
    # Time Machine's own file: without it a bundle is some other disk image.
    (path / "com.apple.TimeMachine.MachineID.plist").write_bytes(plistlib.dumps({}))
    return path


@pytest.fixture
def filled(portal, make_employee):
    employee = make_employee()
    operation = volumes.request_create(employee, employee)
    operation.refresh_from_db()
    assert operation.state == "succeeded", operation.detail
    volume = Volume.objects.get(owner=employee)
    root = Path(portal.settings["DIRECTORIES_ROOT"]) / volume.account
    for name in ("Old Mac.sparsebundle", "New Mac.sparsebundle"):
        bundle(root, name)
    (root / "photos").mkdir()
    backup_tools.give_to(root, volume.account)
    scans.refresh(volume)
    return employee, volume, root


def machines_stored(volume):
    return sorted(source["machine"] for source in BackupScan.objects.get(volume=volume).sources)


def test_a_computer_is_deleted_after_its_name_is_typed(filled, django_capture_on_commit_callbacks):
    employee, volume, root = filled
    client = Client(REMOTE_USER=employee.username)
    link = "/backups/delete/?format=time_machine&amp;path=Old+Mac.sparsebundle"
    assert link in client.get("/").content.decode()

    page = client.get("/backups/delete/?format=time_machine&path=Old+Mac.sparsebundle")
    assert page.status_code == 200
    assert "To confirm, type the computer's name: <strong>Old Mac</strong>" in page.content.decode()

    wrong = client.post(
        "/backups/delete/",
        {"format": "time_machine", "path": "Old Mac.sparsebundle", "confirmation": "New Mac"},
    )
    assert wrong.status_code == 400
    assert "type the computer&#x27;s name (Old Mac) exactly. Nothing was deleted." in (
        wrong.content.decode()
    )
    assert (root / "Old Mac.sparsebundle").is_dir()
    assert not Operation.objects.filter(owner_name=employee.username, kind="delete_backup_source")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/backups/delete/",
            {"format": "time_machine", "path": "Old Mac.sparsebundle", "confirmation": " Old Mac "},
        )
    operation = Operation.objects.get(owner_name=employee.username, kind="delete_backup_source")
    assert response["Location"] == f"/operations/{operation.pk}/"
    assert operation.state == "succeeded", operation.detail
    assert operation.message == "The backups of Old Mac were deleted."
    assert sorted(p.name for p in root.iterdir() if p.name != "lost+found") == [
        "New Mac.sparsebundle",
        "photos",
    ]
    # Scanned again after the deletion: the dashboard is right at once.
    assert machines_stored(volume) == ["New Mac"]


@pytest.mark.parametrize(
    "chosen",
    [
        {"format": "time_machine", "path": "photos"},  # not a backup
        {"format": "time_machine", "path": "."},  # the volume itself
        {"format": "restic", "path": "Old Mac.sparsebundle"},  # not that format
        {"format": "time_machine", "path": "../Old Mac.sparsebundle"},
        {"format": "time_machine"},
    ],
)
def test_a_source_the_scan_did_not_find_is_refused(filled, chosen):
    employee, volume, root = filled
    before = sorted(p.name for p in root.iterdir())
    client = Client(REMOTE_USER=employee.username)
    response = client.post("/backups/delete/", {**chosen, "confirmation": "Old Mac"}, follow=True)
    assert "is not among those last found on your volume, so nothing was deleted" in (
        response.content.decode()
    )
    assert sorted(p.name for p in root.iterdir()) == before
    assert not Operation.objects.filter(owner_name=employee.username, kind="delete_backup_source")
    assert machines_stored(volume) == ["New Mac", "Old Mac"]


def test_deleting_needs_post_and_the_csrf_token(filled):
    employee, _, root = filled
    client = Client(REMOTE_USER=employee.username, enforce_csrf_checks=True)
    response = client.post(
        "/backups/delete/",
        {"format": "time_machine", "path": "Old Mac.sparsebundle", "confirmation": "Old Mac"},
    )
    assert response.status_code == 403
    assert (root / "Old Mac.sparsebundle").is_dir()
