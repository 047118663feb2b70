"""fetch_backups.py's report, checked and bounded before it is stored.

The wrapper is trusted to be the wrapper, but what it reports is whatever
was on a user's volume: every string was already made safe where the
output was parsed (backup.privileged.safe_text); here each field gets its
type and its bound, so that what is stored, and so what any page renders,
stays small whatever the volume holds.
"""

import datetime
from dataclasses import dataclass

from backup.core.times import iso, parse_time

STATES = ("complete", "in_progress", "failed")
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
# Longest text kept for a name or path (the wrapper's own bound is 300).
MAX_TEXT = 300
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


def _text(value, limit=MAX_TEXT):
    if not isinstance(value, str):
        return None
    return value if len(value) <= limit else value[: limit - 1] + "\u2026"


def _number(value):
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _time(value, latest=None):
    """A wrapper time as stored; None when absent, invalid or after latest."""
    when = parse_time(value)
    if when is None or (latest is not None and when > latest):
        return None
    return iso(when)


def _source(item, scanned_at):
    """One source as stored, or None when it is not a source at all."""
    if not isinstance(item, dict) or not isinstance(item.get("format"), str):
        return None
    state = item.get("state") if item.get("state") in STATES else "complete"
    # A backup can't have started after the scan that saw it running.
    since = _time(item.get("in_progress_since"), scanned_at) if state == "in_progress" else None
    return {
        "machine": _text(item.get("machine")),
        "format": item["format"][:40],
        "path": _text(item.get("path")) or ".",
        "last_backup": _time(item.get("last_backup"), scanned_at + MAX_FUTURE),
        "backups": _number(item.get("backups")),
        "state": state,
        "size_bytes": _number(item.get("size_bytes")),
        "size_estimated": item.get("size_estimated") is True,
        "evidence": item.get("evidence") if item.get("evidence") in EVIDENCE else None,
        **({"in_progress_since": since} if since else {}),
    }


def _folder(item, scanned_at):
    if not isinstance(item, dict) or not isinstance(item.get("path"), str):
        return None
    modified = _time(item.get("modified"), scanned_at + MAX_FUTURE)
    return {"path": _text(item["path"]), "modified": modified}


def _bounded(items, clean, limit, reported_more):
    """(at most limit clean items, how many more were found in all)."""
    if not isinstance(items, list):
        raise ScanFailed("fetch_backups.py returned a list that is not a list")
    kept = [found for found in map(clean, items[:limit]) if found is not None]
    more = max(0, len(items) - limit) + (_number(reported_more) or 0)
    return kept, more


def _sort_key(source):
    return ((source["machine"] or "").casefold(), source["path"])


def clean(report: object, account: str) -> CleanReport:
    """The report fetch_backups.py gave for account, or ScanFailed."""
    if not isinstance(report, dict) or report.get("user") != account:
        raise ScanFailed("fetch_backups.py returned a report for another volume or none")
    scanned_at = parse_time(report.get("scanned_at"))
    if scanned_at is None:
        raise ScanFailed("fetch_backups.py returned no scan time")
    sources, more_sources = _bounded(
        report.get("sources"),
        lambda item: _source(item, scanned_at),
        MAX_SOURCES,
        report.get("more_sources"),
    )
    folders, more_folders = _bounded(
        report.get("unrecognised"),
        lambda item: _folder(item, scanned_at),
        MAX_FOLDERS,
        report.get("more_unrecognised"),
    )
    return CleanReport(
        scanned_at=scanned_at,
        truncated=report.get("truncated") is True,
        sources=sorted(sources, key=_sort_key),
        more_sources=more_sources,
        unrecognised=folders,
        more_unrecognised=more_folders,
    )
