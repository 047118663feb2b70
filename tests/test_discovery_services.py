"""Storing fetch_backups.py's report: what is kept from it, what a report
that is not one does (the previous scan stays), and the "3 days ago" text."""

import datetime

import pytest

from backup.core import times
from backup.discovery import cleaning, dashboard, scans, thresholds
from backup.discovery.models import BackupScan
from backup.privileged.client import Refused
from backup.volumes.models import Volume
from support.backup_reports import wrapper_report

UTC = datetime.UTC
NOW = datetime.datetime(2026, 3, 10, 8, 30, tzinfo=UTC)


@pytest.fixture
def volume(db, django_user_model):
    user = django_user_model.objects.create(username="alice")
    return Volume.objects.create(owner=user, account="alice", size_gib=1, filesystem="ext4")


def report(**fields):
    return {
        "user": "alice",
        "scanned_at": "2026-03-10T08:00:00Z",
        "truncated": False,
        "sources": [],
        "more_sources": 0,
        "unrecognised": [],
        "more_unrecognised": 0,
        **fields,
    }


def test_a_report_is_stored_with_its_summary_figures(volume):
    scan = scans.store(
        volume,
        wrapper_report(
            report(
                truncated=True,
                sources=[
                    {
                        "machine": "b",
                        "format": "restic",
                        "path": "r",
                        "last_backup": "2026-03-09T10:00:00Z",
                    },
                    {
                        "machine": "a",
                        "format": "borg",
                        "path": "g",
                        "last_backup": "2026-03-01T10:00:00Z",
                    },
                    {"machine": "c", "format": "kopia", "path": "k", "last_backup": None},
                ],
                unrecognised=[{"path": "Photos", "modified": "2026-03-02T00:00:00Z"}],
            )
        ),
    )
    scan.refresh_from_db()
    assert [source["machine"] for source in scan.sources] == ["a", "b", "c"]
    assert (scan.source_count, scan.unrecognised_count, scan.truncated) == (3, 1, True)
    assert scan.newest_backup == datetime.datetime(2026, 3, 9, 10, tzinfo=UTC)
    assert scan.oldest_backup == datetime.datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert scan.scanned_at == datetime.datetime(2026, 3, 10, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    "bad",
    [
        report(user="bob"),
        report(scanned_at="soon"),
        report(sources={"not": "a list"}),
        ["not", "a", "report"],
        None,
    ],
)
def test_a_report_that_is_not_one_keeps_the_previous_scan(volume, monkeypatch, bad):
    """Refused where the client parses it, or (another volume's) when stored."""
    scans.store(
        volume, wrapper_report(report(sources=[{"machine": "mac", "format": "time_machine"}]))
    )
    monkeypatch.setattr("backup.privileged.commands.run", lambda *args, **kwargs: bad)
    with pytest.raises(scans.ScanFailed):
        scans.refresh(volume)
    scan = BackupScan.objects.get(volume=volume)
    assert [source["machine"] for source in scan.sources] == ["mac"]
    assert scan.failed_at is not None
    assert scan.failure


def test_a_volume_the_scan_skipped_is_recorded_with_the_wrappers_reason(volume, monkeypatch):
    """A skipped volume carries no "mounted": its reason, not "not mounted"."""
    skipped = {"volumes": [{"user": "alice", "skipped": "busy for more than a second"}]}
    monkeypatch.setattr("backup.privileged.commands.run", lambda *args, **kwargs: skipped)
    run = scans.scan_all()
    assert (run.failed, run.skipped) == ([("alice", "busy for more than a second")], [])
    assert BackupScan.objects.get(volume=volume).failure == "busy for more than a second"


def test_a_refusal_is_recorded_for_the_admins(volume, monkeypatch):
    def refuse(account):
        raise Refused("fetch_backups.py", "alice has no volume at /srv/userbackup/alice")

    monkeypatch.setattr("backup.privileged.commands.fetch_backups", refuse)
    with pytest.raises(scans.ScanFailed):
        scans.refresh(volume)
    scan = BackupScan.objects.get(volume=volume)
    assert (scan.scanned_at, scan.failure) == (None, "alice has no volume at /srv/userbackup/alice")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-30, "just now"),
        (59, "just now"),
        (60, "1 minute ago"),
        (3599, "59 minutes ago"),
        (3600, "1 hour ago"),
        (86399, "23 hours ago"),
        (86400, "1 day ago"),
        (3 * 86400 + 7000, "3 days ago"),
        (75 * 86400, "2 months ago"),
        (800 * 86400, "2 years ago"),
    ],
)
def test_ago_says_the_largest_unit_as_django_does(seconds, text):
    assert times.relative_time(NOW - datetime.timedelta(seconds=seconds), NOW) == text


def test_what_is_stored_is_bounded_and_the_rest_counted(volume):
    # As many as the wrapper lists (it counts the rest), names as long as it
    # shows them.
    sources = [
        {"machine": f"pc{index:03}", "format": "restic", "path": f"r{index:03}"}
        for index in range(cleaning.MAX_SOURCES)
    ]
    folders = [{"path": (f"f{index}" * 400)[:300]} for index in range(cleaning.MAX_FOLDERS)]
    scan = scans.store(
        volume,
        wrapper_report(
            report(sources=sources, more_sources=27, unrecognised=folders, more_unrecognised=1005)
        ),
    )
    scan.refresh_from_db()
    assert len(scan.sources) == cleaning.MAX_SOURCES
    assert (scan.more_sources, scan.source_count) == (27, cleaning.MAX_SOURCES + 27)
    assert len(scan.unrecognised) == cleaning.MAX_FOLDERS
    assert all(len(item["path"]) == 300 for item in scan.unrecognised)
    assert scan.more_unrecognised == 1005
    report_ = dashboard.report_for(volume, NOW)
    assert (report_.more_machines, report_.more_folders) == (27, 1005)
    assert report_.folder_count == cleaning.MAX_FOLDERS + 1005


@pytest.mark.parametrize(
    ("state", "age_days", "status"),
    [
        ("complete", 1, thresholds.OK),
        ("complete", 8, thresholds.STALE),
        ("in_progress", 1, thresholds.IN_PROGRESS),
        ("in_progress", 8, thresholds.STALE),
        ("in_progress", None, thresholds.IN_PROGRESS),
        ("failed", 1, thresholds.FAILED),
        ("failed", 8, thresholds.FAILED),
        ("complete", None, thresholds.NO_BACKUP),
    ],
)
def test_status_of_a_computer(state, age_days, status):
    last = NOW - datetime.timedelta(days=age_days) if age_days is not None else None
    assert thresholds.status_of(state, last, thresholds.stale_cutoff(7, NOW)) == status
