"""Backup scans of real volumes (loop-file backend, the real fetch_backups.py
as root): what is stored from a volume holding a real rdiff-backup
repository and a Time Machine bundle built from its documented layout, the
dashboard and "Check now" within their privileged-call budget, the periodic
command, the scan after a create, and the admin table's column and filter."""

import datetime
import io
import plistlib
import re
from pathlib import Path

import pytest
from conftest import require_tool
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from backup.discovery import scans
from backup.discovery.models import BackupScan
from backup.operations import runner
from backup.operations.models import Operation
from backup.privileged.client import Counter
from backup.volumes import requests as volumes
from backup.volumes.models import Volume
from support import backup_tools
from support.backup_reports import wrapper_report
from support.people import signed_in

pytestmark = [pytest.mark.root, pytest.mark.django_db(transaction=True)]

UTC = datetime.UTC
DAY = datetime.timedelta(days=1)
HOUR = datetime.timedelta(hours=1)
BUNDLE = "Ann\u2019s MacBook.sparsebundle"


def wire(when):
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def with_volume(make_employee):
    """An employee whose volume the portal created for real (mounted)."""
    employee = make_employee()
    operation = volumes.request_create(employee, employee)
    # This test's transaction never commits, so the worker is never handed
    # the operation (nor the rescan after it): run it as the worker would.
    runner.execute(operation.pk)
    operation.refresh_from_db()
    assert operation.state == "succeeded", operation.detail
    return employee, Volume.objects.get(owner=employee)


def mount_point(portal, volume):
    return Path(portal.settings["DIRECTORIES_ROOT"]) / volume.account


def time_machine_bundle(parent, completed):
    """A network Time Machine bundle as macOS leaves it on the share."""
    bundle = parent / BUNDLE
    (bundle / "bands").mkdir(parents=True)
    (bundle / "bands" / "0").write_bytes(b"")
    (bundle / "Info.plist").write_bytes(plistlib.dumps({"band-size": 8388608}))
    (bundle / "com.apple.TimeMachine.MachineID.plist").write_bytes(
        plistlib.dumps({"VerificationState": 1, "com.apple.backupd.HostUUID": "0123-4567"})
    )
    history = {
        "Snapshots": [
            {"com.apple.backupd.SnapshotCompletionDate": completed - DAY},
            {"com.apple.backupd.SnapshotCompletionDate": completed},
        ]
    }
    (bundle / "com.apple.TimeMachine.SnapshotHistory.plist").write_bytes(plistlib.dumps(history))


@pytest.fixture
def filled(portal, make_employee, tmp_path):
    """A real volume with a real rdiff-backup repository (fresh), a Time
    Machine bundle last completed 10 days ago, and a folder of photos."""
    require_tool("rdiff-backup")
    employee, volume = with_volume(make_employee)
    root = mount_point(portal, volume)
    tools = backup_tools.Tools(tmp_path)
    backup_tools.make_tree(tmp_path / "source")
    tools.rdiff_backup(tmp_path / "source", root / "rdiff")
    completed = (timezone.now() - 10 * DAY).replace(microsecond=0, tzinfo=None)
    time_machine_bundle(root, completed)
    (root / "Photos").mkdir()
    (root / "Photos" / "beach.jpg").write_bytes(b"\xff\xd8")
    for name in ("rdiff", BUNDLE, "Photos"):
        backup_tools.give_to(root / name, volume.account)
    return {
        "employee": employee,
        "volume": volume,
        "rdiff_session": tools.rdiff_backup_sessions(root / "rdiff")[-1],
        "time_machine": completed.replace(tzinfo=UTC),
    }


def test_a_real_volumes_backups_are_stored(filled):
    volume = filled["volume"]
    before = Counter.calls
    scan = scans.refresh(volume)
    assert Counter.calls - before == 1
    rdiff_time = datetime.datetime.fromtimestamp(filled["rdiff_session"], UTC)
    assert scan.sources == [
        {
            "machine": None,
            "format": "rdiff_backup",
            "path": "rdiff",
            "last_backup": wire(rdiff_time),
            "backups": 1,
            "state": "complete",
            "size_bytes": scan.sources[0]["size_bytes"],
            "size_estimated": False,
            "evidence": None,
        },
        {
            "machine": "Ann\u2019s MacBook",
            "format": "time_machine",
            "path": BUNDLE,
            "last_backup": wire(filled["time_machine"]),
            "backups": 2,
            "state": "complete",
            "size_bytes": scan.sources[1]["size_bytes"],
            "size_estimated": False,
            "evidence": None,
        },
    ]
    # What du counts for each (tests/test_backup_formats.py checks the sums).
    assert all(source["size_bytes"] > 0 for source in scan.sources)
    assert [item["path"] for item in scan.unrecognised] == ["Photos"]
    assert (scan.source_count, scan.unrecognised_count, scan.truncated) == (2, 1, False)
    assert (scan.newest_backup, scan.oldest_backup) == (rdiff_time, filled["time_machine"])
    assert abs(timezone.now() - scan.scanned_at) < datetime.timedelta(minutes=1)


def statuses(page):
    return re.findall(r'<tr data-testid="backup-source">.*?data-status="([a-z_]+)"', page, re.S)


def test_the_dashboard_shows_them_within_one_privileged_call(filled):
    scans.refresh(filled["volume"])
    client = Client(REMOTE_USER=filled["employee"].username)
    before = Counter.calls
    page = client.get("/").content.decode()
    assert Counter.calls - before <= 1
    assert "Ann\u2019s MacBook" in page
    assert "rdiff-backup backup in “rdiff”" in page
    assert statuses(page) == ["ok", "stale"]
    assert "<code>Photos</code>" in page
    # Cached volume state: the next view makes none.
    before = Counter.calls
    client.get("/")
    assert Counter.calls == before


def test_check_now_scans_the_owners_volume_in_an_operation(filled, make_employee):
    other, other_volume = with_volume(make_employee)
    owner = filled["employee"]
    client = Client(REMOTE_USER=owner.username)
    client.get("/")  # the dashboard caches the volume's state, as a person would see it
    # The other volume was scanned once, when it was created; never again here.
    others_scan = list(BackupScan.objects.filter(volume=other_volume).values_list("scanned_at"))

    before = Counter.calls
    response = client.post("/backups/check/")
    assert response.status_code == 302
    assert response["Location"] == "/#your-backups"
    # The task (run at once by the tests' backend) asks for the volume's
    # state again, not from the page's cache, then scans.
    assert Counter.calls - before == 2
    operation = Operation.objects.get(owner_name=owner.username, kind="check_backups")
    assert operation.state == "succeeded"
    assert operation.message == "Your volume was checked: 2 backup sources found."
    scan = BackupScan.objects.get(volume=filled["volume"])
    assert scan.source_count == 2
    assert list(BackupScan.objects.filter(volume=other_volume).values_list("scanned_at")) == (
        others_scan
    )

    # Pressed again at once: scanned again, never an old answer shown as new.
    client.post("/backups/check/")
    assert BackupScan.objects.get(volume=filled["volume"]).scanned_at >= scan.scanned_at
    assert Operation.objects.filter(owner_name=owner.username, kind="check_backups").count() == 2
    assert other.username not in client.get("/").content.decode()


def test_check_now_is_queued_for_the_worker_once(filled, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    owner = filled["employee"]
    client = Client(REMOTE_USER=owner.username)
    client.get("/")
    # Only the scan made when the volume was created, if any, and no other.
    scans = list(BackupScan.objects.filter(volume=filled["volume"]).values_list("scanned_at"))
    before = Counter.calls
    first = client.post("/backups/check/", follow=True).content.decode()
    second = client.post("/backups/check/", follow=True).content.decode()
    # No scan in the request, and one queued check however often it is pressed.
    assert Counter.calls == before
    assert "is being checked for backups" in first
    assert "“Check for backups” is in progress on your volume." in second
    queued = Operation.objects.filter(owner_name=owner.username, kind="check_backups")
    assert [operation.state for operation in queued] == ["queued"]
    assert list(BackupScan.objects.filter(volume=filled["volume"]).values_list("scanned_at")) == (
        scans
    )


def test_check_now_finds_an_unmounted_volume_in_the_worker(portal, filled):
    """Unmounted after the page cached its state: the task asks again, and
    the last results stay, marked as not refreshed."""
    volume = filled["volume"]
    scans.refresh(volume)
    client = Client(REMOTE_USER=filled["employee"].username)
    client.get("/")
    assert portal.run("umount.py", volume.account).returncode == 0
    try:
        client.post("/backups/check/")
        operation = Operation.objects.get(owner_name=volume.account, kind="check_backups")
        assert operation.state == "failed"
        assert "not available right now" in operation.message
        scan = BackupScan.objects.get(volume=volume)
        assert scan.source_count == 2
        assert scan.failed_at > scan.scanned_at
    finally:
        assert portal.run("mount.py", volume.account).returncode == 0


# Stored in batches: one volume per transaction, and both in one.
@pytest.mark.parametrize("batch", [1, 100])
def test_the_periodic_scan_skips_unmounted_volumes_and_keeps_their_results(
    portal, filled, make_employee, monkeypatch, batch
):
    monkeypatch.setattr(scans, "STORE_BATCH", batch)
    _, unmounted = with_volume(make_employee)
    scans.store(
        unmounted,
        wrapper_report(
            {
                "user": unmounted.account,
                "scanned_at": wire(timezone.now() - DAY),
                "truncated": False,
                "sources": [{"format": "restic", "path": "restic", "last_backup": None}],
                "unrecognised": [],
            }
        ),
    )
    assert portal.run("umount.py", unmounted.account).returncode == 0

    out, err = io.StringIO(), io.StringIO()
    before = Counter.calls
    call_command("fetch_backups", verbosity=2, stdout=out, stderr=err)
    # One privileged call scans every volume.
    assert Counter.calls - before == 1
    assert "1 scanned, 1 skipped, 0 failed" in out.getvalue()
    assert f"skipped {unmounted.account}: not mounted" in out.getvalue()
    assert err.getvalue() == ""

    assert BackupScan.objects.get(volume=filled["volume"]).source_count == 2
    kept = BackupScan.objects.get(volume=unmounted)
    assert [source["format"] for source in kept.sources] == ["restic"]
    assert kept.failure == "not mounted"
    assert kept.failed_at > kept.scanned_at


def test_the_periodic_scan_leaves_volumes_with_an_operation_in_progress(filled):
    owner = filled["employee"]
    Operation.objects.create(
        kind=Operation.Kind.SCRUB,
        state=Operation.State.RUNNING,
        owner=owner,
        owner_name=owner.username,
        actor=owner,
        actor_name=owner.username,
    )
    scans = list(BackupScan.objects.values_list("volume", "scanned_at"))
    out = io.StringIO()
    call_command("fetch_backups", verbosity=2, stdout=out)
    assert f"skipped {filled['volume'].account}: an operation is in progress" in out.getvalue()
    assert list(BackupScan.objects.values_list("volume", "scanned_at")) == scans


def test_a_new_volume_is_scanned_once_created(
    portal, make_employee, django_capture_on_commit_callbacks
):
    employee = make_employee()
    with django_capture_on_commit_callbacks(execute=True):
        operation = volumes.request_create(employee, employee)
    operation.refresh_from_db()
    assert operation.state == "succeeded", operation.detail
    scan = BackupScan.objects.get(volume__owner=employee)
    assert scan.scanned_at is not None
    assert (scan.source_count, scan.unrecognised_count) == (0, 0)
    page = Client(REMOTE_USER=employee.username).get("/").content.decode()
    assert "No backups yet." in page


# --- The admin table ---------------------------------------------------------


@pytest.fixture
def scanned_volumes(portal, django_user_model):
    """Portal records (no image) with stored scans: one stale, one never
    used, one fresh, one never checked."""
    now = timezone.now()

    def volume(name, created_days_ago=30):
        user = django_user_model.objects.create(username=name)
        made = Volume.objects.create(owner=user, account=name, size_gib=1, filesystem="ext4")
        Volume.objects.filter(pk=made.pk).update(created_at=now - created_days_ago * DAY)
        made.refresh_from_db()
        return made

    def scan(made, *ages):
        sources = [
            {
                "machine": f"pc{n}",
                "format": "restic",
                "path": f"r{n}",
                "last_backup": wire(now - age),
            }
            for n, age in enumerate(ages)
        ]
        scans.store(
            made,
            wrapper_report(
                {
                    "user": made.account,
                    "scanned_at": wire(now - HOUR),
                    "sources": sources,
                    "unrecognised": [],
                }
            ),
        )

    scan(volume("zstale"), 10 * DAY, HOUR)
    scan(volume("anever"))
    scan(volume("mfresh"), 2 * HOUR)
    scan(volume("bnew", created_days_ago=1))
    volume("qunchecked")


def admin_page(client, query="", status=200):
    before = Counter.calls
    response = client.get(f"/staff/{query}")
    assert response.status_code == status
    assert Counter.calls - before <= 2
    return response


@pytest.fixture
def admin_client(admin):
    return signed_in(admin)


def test_the_admin_table_shows_each_volumes_last_backup(scanned_volumes, admin_client):
    response = admin_page(admin_client, "?show=all")
    cells = {row["account"]: row for row in response.context["table"]}
    shown = {
        account: (cell["last_backup"], cell.get("backup_badge")) for account, cell in cells.items()
    }
    assert shown == {
        "zstale": ("1 hour ago", "stale"),  # its other computer is 10 days behind
        "mfresh": ("2 hours ago", None),
        "anever": ("none", "never used"),
        "bnew": ("none", None),  # created yesterday: not "never used" yet
        "qunchecked": ("not checked", None),
    }
    page = response.content.decode()
    assert re.search(r'<td><span title="[^"]+ UTC">2 hours ago</span></td>', page)
    assert re.search(
        r'<td><span title="[^"]+ UTC">1 hour ago</span> <span class="badge text-bg-warning"'
        r' title="[^"]+">stale</span></td>',
        page,
    )
    nav = re.search(r'<nav[^>]*data-testid="backup-filter">.*?</nav>', page, re.S).group(0)
    links = re.findall(r'href="([^"]+)"[^>]*>([^<]+)</a>', nav)
    # Counts over the whole inventory; these volumes exist only in the
    # portal's database, so each is missing on the server: a problem.
    assert links == [
        ("?", "Needs attention (5)"),
        ("?show=stale", "Stale backups (1)"),
        ("?show=full", "Nearly full (0)"),
        ("?show=failing", "Problems (5)"),
        ("?show=never", "Never used (1)"),
        ("?show=all", "All (5)"),
    ]


def test_the_admin_filters_stale_and_never_used_volumes(scanned_volumes, admin_client):
    stale = admin_page(admin_client, "?show=stale&sort=size")
    assert [row.account for row in stale.context["rows"]] == ["zstale"]
    page = stale.content.decode()
    # Sorting keeps the filter, and the filter keeps the sort.
    assert 'href="?show=stale"' in page
    assert 'href="?show=never&amp;sort=size"' in page
    assert 'aria-current="page">Stale backups (1)</a>' in page

    never = admin_page(admin_client, "?show=never")
    assert [row.account for row in never.context["rows"]] == ["anever"]
    # The links of alert emails already sent keep working.
    legacy = admin_page(admin_client, "?backups=stale")
    assert [row.account for row in legacy.context["rows"]] == ["zstale"]
    unknown = admin_page(admin_client, "?show=everything", status=400)
    assert "rows" not in unknown.context


def test_the_admin_table_sorts_by_last_backup(scanned_volumes, admin_client):
    response = admin_page(admin_client, "?show=all&sort=backup&order=desc")
    assert [row.account for row in response.context["rows"]][:2] == ["zstale", "mfresh"]


def test_an_empty_filter_says_so(portal, admin_client):
    page = admin_page(admin_client, "?show=stale").content.decode()
    assert "No volume matches this filter." in page
