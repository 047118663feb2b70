"""fetch_backups.py's report, as stored.

The wrapper is trusted to be the wrapper, but what it reports is whatever
was on a user's volume: every string was made safe, and every field given
its type and bound, where the output was parsed (backup.privileged:
safe_text, results.backup_report). What is left here is the portal's own
reading: times after the scan are no backup's, and the lists are bounded
and sorted for the pages.
"""

import datetime
from dataclasses import dataclass

from backup.core.times import iso, parse_time
from backup.privileged.results import BackupReport, Folder, Source

# How last_backup was found when not from the format's own record of
# completed backups (wrappers/README.md). "bands" is what scans before
# issue 23 called LAST_WRITTEN for Time Machine; stored scans may hold it.
BANDS, BANDS_SAMPLE, REPOSITORY_CHANGE = "bands", "bands_sample", "repository_change"
LAST_WRITTEN, COPY = "last_written", "copy"
EVIDENCE = (BANDS, BANDS_SAMPLE, REPOSITORY_CHANGE, LAST_WRITTEN, COPY)
# Written, but whether the run completed is unknown to the scan.
COMPLETION_UNKNOWN = (BANDS, BANDS_SAMPLE, LAST_WRITTEN)
# A time further after the scan than clocks differ is no backup's time.
MAX_FUTURE = datetime.timedelta(days=1)
# Items kept from one scan; the rest are counted ("and N more").
MAX_SOURCES = 100
MAX_FOLDERS = 100


class ScanFailed(Exception):
    """The scan did not run or its output was unusable; the failure is
    recorded on the volume's scan and the previous results kept."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CleanReport:
    scanned_at: datetime.datetime
    truncated: bool
    sources: list
    more_sources: int
    unrecognised: list
    more_unrecognised: int


def _time(value: str | None, latest: datetime.datetime | None = None) -> str | None:
    """A wrapper time as stored; None when absent or after latest."""
    when = parse_time(value)
    if when is None or (latest is not None and when > latest):
        return None
    return iso(when)


def _source(item: Source, scanned_at: datetime.datetime) -> dict:
    """One source as stored."""
    state = item["state"]
    # A backup can't have started after the scan that saw it running.
    since = _time(item["in_progress_since"], scanned_at) if state == "in_progress" else None
    return {
        "machine": item["machine"],
        "format": item["format"],
        "path": item["path"],
        "last_backup": _time(item["last_backup"], scanned_at + MAX_FUTURE),
        "backups": item["backups"],
        "state": state,
        "size_bytes": item["size_bytes"],
        "size_estimated": item["size_estimated"] is True,
        "evidence": item["evidence"],
        **({"in_progress_since": since} if since else {}),
    }


def _folder(item: Folder, scanned_at: datetime.datetime) -> dict:
    return {"path": item["path"], "modified": _time(item["modified"], scanned_at + MAX_FUTURE)}


def _bounded(items, clean, limit, reported_more: int):
    """(at most limit clean items, how many more were found in all)."""
    kept = [clean(item) for item in items[:limit]]
    return kept, max(0, len(items) - limit) + reported_more


def _sort_key(source):
    return ((source["machine"] or "").casefold(), source["path"])


def clean(report: BackupReport, account: str) -> CleanReport:
    """The report fetch_backups.py gave for account, or ScanFailed."""
    if report["user"] != account:
        raise ScanFailed("fetch_backups.py returned a report for another volume")
    scanned_at = parse_time(report["scanned_at"])
    if scanned_at is None:  # the parser checked it: never, but typed so
        raise ScanFailed("fetch_backups.py returned no scan time")
    sources, more_sources = _bounded(
        report["sources"],
        lambda item: _source(item, scanned_at),
        MAX_SOURCES,
        report["more_sources"],
    )
    folders, more_folders = _bounded(
        report["unrecognised"],
        lambda item: _folder(item, scanned_at),
        MAX_FOLDERS,
        report["more_unrecognised"],
    )
    return CleanReport(
        scanned_at=scanned_at,
        truncated=report["truncated"],
        sources=sorted(sources, key=_sort_key),
        more_sources=more_sources,
        unrecognised=folders,
        more_unrecognised=more_folders,
    )
