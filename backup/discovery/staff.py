"""The admin table's "Last backup" column and its filter (?backups=stale or
never), from the rows' stored scans. Cells are text made here, like the
table's other cells: with a thousand volumes, per-cell template filters
would dominate the page time."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from django.utils.html import format_html

from . import thresholds
from .models import BackupScan
from .times import ago, exact

# (text, Bootstrap class, hover text) of the badge beside the last backup.
STALE_BADGE = ("stale", "text-bg-warning", "a computer's last backup is older than the threshold")
NEVER_USED_BADGE = ("never used", "text-bg-secondary", "nothing on the volume")


@dataclass(frozen=True)
class VolumeBackups:
    """A volume's backups in brief, for the admin table and summary."""

    scanned_at: datetime.datetime | None
    newest_backup: datetime.datetime | None
    oldest_backup: datetime.datetime | None
    source_count: int
    stale: bool
    never_used: bool


def volume_backups(now: datetime.datetime | None = None) -> dict[str, VolumeBackups]:
    """{account: VolumeBackups} for every scanned volume, in one query."""
    now = now or timezone.now()
    default_days = settings.STALE_AFTER_DAYS
    rows = BackupScan.objects.values_list(
        "volume__account",
        "scanned_at",
        "newest_backup",
        "oldest_backup",
        "oldest_in_progress",
        "source_count",
        "unrecognised_count",
        "truncated",
        "volume__created_at",
        "volume__owner__backup_preference__stale_after_days",
    )
    summaries = {}
    stalled_before = thresholds.stalled_cutoff(now)
    for row in rows:
        account, scanned_at, newest, oldest, running, sources, folders, truncated, created, days = (
            row
        )
        cutoff = thresholds.stale_cutoff(days or default_days, now)
        summaries[account] = VolumeBackups(
            scanned_at=scanned_at,
            newest_backup=newest,
            oldest_backup=oldest,
            source_count=sources,
            stale=(oldest is not None and oldest < cutoff)
            or (running is not None and running < stalled_before),
            never_used=thresholds.never_used(
                scanned_at is not None, not (sources or folders or truncated), created, now
            ),
        )
    return summaries


# The admin table's filters (?backups=...): name -> (label, test of a
# VolumeBackups or None for a volume never scanned).
FILTERS = {
    "stale": ("Stale", lambda backups: backups is not None and backups.stale),
    "never": ("Never used", lambda backups: backups is not None and backups.never_used),
}


def filter_rows(request, rows):
    """(rows the chosen filter keeps, context for discovery/staff_filter.html)."""
    chosen = request.GET.get("backups", "")
    if chosen not in FILTERS:
        chosen = ""
    links = []
    choices = [("", "All"), *((key, label) for key, (label, _) in FILTERS.items())]
    for key, label in choices:
        query = request.GET.copy()
        query.pop("backups", None)
        if key:
            query["backups"] = key
            keep = FILTERS[key][1]
            count = sum(1 for row in rows if keep(row.backups))
        else:
            count = len(rows)
        url = f"?{query.urlencode()}"
        links.append({"label": label, "url": url, "count": count, "active": key == chosen})
    if chosen:
        keep = FILTERS[chosen][1]
        rows = [row for row in rows if keep(row.backups)]
    return rows, {"backup_filter": chosen, "backup_filter_links": links}


def cells(backups, now):
    """One row's "Last backup" cell: its text (sorting, tests) and its HTML,
    made here in one format_html rather than by template tags per row."""
    if backups is None or backups.scanned_at is None:
        return {"last_backup": "not checked", "last_backup_cell": "not checked"}
    if backups.newest_backup is None:
        text = "none" if backups.source_count == 0 else "none completed"
        html = text
    else:
        text = ago(backups.newest_backup, now)
        title = exact(backups.newest_backup)
        html = format_html('<span title="{}">{}</span>', title, text)
    badge = STALE_BADGE if backups.stale else NEVER_USED_BADGE if backups.never_used else None
    if badge:
        html = format_html(
            '{} <span class="badge {}" title="{}">{}</span>', html, badge[1], badge[2], badge[0]
        )
    return {"last_backup": text, "last_backup_cell": html, "backup_badge": badge and badge[0]}
