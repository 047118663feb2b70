"""Storing fetch_backups.py's report: what is kept from it, what a report
that is not one does (the previous scan stays), and the "3 days ago" text."""

import datetime

import pytest

from backup.discovery import cleaning, dashboard, scans, thresholds, times
from backup.discovery.models import BackupScan
from backup.privileged.client import Refused

UTC = datetime.UTC
NOW = datetime.datetime(2026, 3, 10, 8, 30, tzinfo=UTC)


@pytest.fixture
def volume(db, make_volume):
    return make_volume(filesystem="ext4")


def report(volume, **fields):
    """fetch_backups.py's report for the volume, with fields changed."""
    return {
        "user": volume.account,
        "scanned_at": "2026-03-10T08:00:00Z",
        "truncated": False,
        "sources": [],
        "unrecognised": [],
        **fields,
    }


def test_a_report_is_stored_with_its_summary_figures(volume):
    scan = scans.store(
        volume,
        report(
            volume,
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
    scan = scans.store(
        volume,
        report(
            volume,
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
            "size_estimated": False,
            "evidence": None,
        }
    ]
    clipped = "x" * (cleaning.MAX_TEXT - 1) + "\u2026"
    assert scan.unrecognised == [{"path": clipped, "modified": None}]
    [machine] = dashboard.machines(scan, 7, NOW)
    assert (machine.format_name, machine.status) == ("future_tool", thresholds.NO_BACKUP)


@pytest.mark.parametrize(
    "bad",
    [
        {"user": "bob"},  # the volume's report with these fields changed
        {"scanned_at": "soon"},
        {"sources": {"not": "a list"}},
        ["not", "a", "report"],
        None,
    ],
)
def test_a_report_that_is_not_one_keeps_the_previous_scan(volume, monkeypatch, bad):
    if isinstance(bad, dict):
        bad = report(volume, **bad)
    scans.store(volume, report(volume, sources=[{"machine": "mac", "format": "time_machine"}]))
    monkeypatch.setattr("backup.privileged.commands.fetch_backups", lambda account: bad)
    with pytest.raises(scans.ScanFailed):
        scans.refresh(volume)
    scan = BackupScan.objects.get(volume=volume)
    assert [source["machine"] for source in scan.sources] == ["mac"]
    assert scan.failed_at is not None
    assert scan.failure


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
    assert times.ago(NOW - datetime.timedelta(seconds=seconds), NOW) == text


def test_what_is_stored_is_bounded_and_the_rest_counted(volume):
    sources = [
        {"machine": f"pc{index:03}", "format": "restic", "path": f"r{index:03}"}
        for index in range(cleaning.MAX_SOURCES + 20)
    ]
    folders = [{"path": f"f{index}" * 400} for index in range(cleaning.MAX_FOLDERS + 5)]
    scan = scans.store(
        volume,
        report(
            volume, sources=sources, more_sources=7, unrecognised=folders, more_unrecognised=1000
        ),
    )
    scan.refresh_from_db()
    assert len(scan.sources) == cleaning.MAX_SOURCES
    assert (scan.more_sources, scan.source_count) == (27, cleaning.MAX_SOURCES + 27)
    assert len(scan.unrecognised) == cleaning.MAX_FOLDERS
    assert all(len(item["path"]) == cleaning.MAX_TEXT for item in scan.unrecognised)
    assert scan.more_unrecognised == 1005
    report_ = dashboard.report_for(volume, NOW)
    assert (report_.more_machines, report_.more_folders) == (27, 1005)
    assert report_.folder_count == cleaning.MAX_FOLDERS + 1005


@pytest.mark.parametrize("more", [-1, "5", True, None, 2.5])
def test_an_odd_more_count_counts_nothing(volume, more):
    scan = scans.store(volume, report(volume, more_sources=more, more_unrecognised=more))
    assert (scan.more_sources, scan.more_unrecognised) == (0, 0)


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
