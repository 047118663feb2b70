"""Storing fetch_backups.py's report: what is kept from it, what a report
that is not one does (the previous scan stays), and the "3 days ago" text."""

import datetime

import pytest

from backup.discovery import services
from backup.discovery.models import BackupScan
from backup.privileged.client import Refused
from backup.volumes.models import Volume

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
        "unrecognised": [],
        **fields,
    }


def test_a_report_is_stored_with_its_summary_figures(volume):
    scan = services.store(
        volume,
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
        ),
    )
    scan.refresh_from_db()
    assert [source["machine"] for source in scan.sources] == ["a", "b", "c"]
    assert (scan.source_count, scan.unrecognised_count, scan.truncated) == (3, 1, True)
    assert scan.newest_backup == datetime.datetime(2026, 3, 9, 10, tzinfo=UTC)
    assert scan.oldest_backup == datetime.datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert scan.scanned_at == datetime.datetime(2026, 3, 10, 8, tzinfo=UTC)


def test_odd_items_are_dropped_or_made_safe(volume):
    scan = services.store(
        volume,
        report(
            sources=[
                "not a source",
                {"machine": "no format"},
                {
                    "machine": ["not", "text"],
                    "format": "future_tool",
                    "last_backup": "yesterday",
                    "backups": True,
                    "state": "exploded",
                    "size_bytes": -5,
                },
            ],
            unrecognised=[{"path": 7}, {"path": "x" * 2000, "modified": "never"}],
        ),
    )
    assert scan.sources == [
        {
            "machine": None,
            "format": "future_tool",
            "path": ".",
            "last_backup": None,
            "backups": None,
            "state": "complete",
            "size_bytes": None,
        }
    ]
    assert scan.unrecognised == [{"path": "x" * services.MAX_TEXT, "modified": None}]
    [machine] = services.machines(scan, 7, NOW)
    assert (machine.format_name, machine.status) == ("future_tool", services.NO_BACKUP)


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
    services.store(volume, report(sources=[{"machine": "mac", "format": "time_machine"}]))
    monkeypatch.setattr("backup.privileged.commands.fetch_backups", lambda account: bad)
    with pytest.raises(services.ScanFailed):
        services.refresh(volume)
    scan = BackupScan.objects.get(volume=volume)
    assert [source["machine"] for source in scan.sources] == ["mac"]
    assert scan.failed_at is not None
    assert scan.failure


def test_a_refusal_is_recorded_for_the_admins(volume, monkeypatch):
    def refuse(account):
        raise Refused("fetch_backups.py", "alice has no volume at /srv/userbackup/alice")

    monkeypatch.setattr("backup.privileged.commands.fetch_backups", refuse)
    with pytest.raises(services.ScanFailed):
        services.refresh(volume)
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
        (59 * 86400, "59 days ago"),
        (60 * 86400, "2 months ago"),
        (729 * 86400, "24 months ago"),
        (730 * 86400, "2 years ago"),
    ],
)
def test_ago_says_the_largest_whole_unit(seconds, text):
    assert services.ago(NOW - datetime.timedelta(seconds=seconds), NOW) == text


@pytest.mark.parametrize(
    ("state", "age_days", "status"),
    [
        ("complete", 1, services.OK),
        ("complete", 8, services.STALE),
        ("in_progress", 1, services.IN_PROGRESS),
        ("in_progress", 8, services.STALE),
        ("in_progress", None, services.IN_PROGRESS),
        ("failed", 1, services.FAILED),
        ("failed", 8, services.FAILED),
        ("complete", None, services.NO_BACKUP),
    ],
)
def test_status_of_a_computer(state, age_days, status):
    last = NOW - datetime.timedelta(days=age_days) if age_days is not None else None
    assert services.status_of(state, last, services.stale_cutoff(7, NOW)) == status
