"""fetch_backups.py's report, checked and bounded before it is stored.

The wrapper is trusted to be the wrapper, but what it reports is whatever
was on a user's volume: every string was already made safe where the
output was parsed (backup.privileged.safe_text); here each field gets its
type and its bound, so that what is stored, and so what any page renders,
stays small whatever the volume holds.
"""

from dataclasses import dataclass

from .times import iso, parse_time

STATES = ("complete", "in_progress", "failed")
# How last_backup was found when not from the format's own record of
# completed backups (wrappers/README.md).
BANDS, BANDS_SAMPLE, REPOSITORY_CHANGE = "bands", "bands_sample", "repository_change"
EVIDENCE = (BANDS, BANDS_SAMPLE, REPOSITORY_CHANGE)
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
    scanned_at: object  # datetime
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


def _time(value):
    when = parse_time(value)
    return iso(when) if when else None


def _source(item):
    """One source as stored, or None when it is not a source at all."""
    if not isinstance(item, dict) or not isinstance(item.get("format"), str):
        return None
    return {
        "machine": _text(item.get("machine")),
        "format": item["format"][:40],
        "path": _text(item.get("path")) or ".",
        "last_backup": _time(item.get("last_backup")),
        "backups": _number(item.get("backups")),
        "state": item.get("state") if item.get("state") in STATES else "complete",
        "size_bytes": _number(item.get("size_bytes")),
        "size_estimated": item.get("size_estimated") is True,
        "evidence": item.get("evidence") if item.get("evidence") in EVIDENCE else None,
    }


def _folder(item):
    if not isinstance(item, dict) or not isinstance(item.get("path"), str):
        return None
    return {"path": _text(item["path"]), "modified": _time(item.get("modified"))}


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
        report.get("sources"), _source, MAX_SOURCES, report.get("more_sources")
    )
    folders, more_folders = _bounded(
        report.get("unrecognised"), _folder, MAX_FOLDERS, report.get("more_unrecognised")
    )
    return CleanReport(
        scanned_at=scanned_at,
        truncated=report.get("truncated") is True,
        sources=sorted(sources, key=_sort_key),
        more_sources=more_sources,
        unrecognised=folders,
        more_unrecognised=more_folders,
    )
