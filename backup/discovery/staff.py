"""The admin table's "Last backup" column and its stale and never-used
tests, from the rows' stored scans. Cells are text made here, like the
table's other cells: with a thousand volumes, per-cell template filters
would dominate the page time."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backup.core.times import absolute_time, relative_time

from . import thresholds
from .models import BackupScan

# (text, Bootstrap class, hover text) of the badge beside the last backup.
STALE_BADGE = (
    gettext_lazy("stale"),
    "text-bg-warning",
    gettext_lazy("a computer's last backup is older than the threshold"),
)
NEVER_USED_BADGE = (
    gettext_lazy("never used"),
    "text-bg-secondary",
    gettext_lazy("nothing on the volume"),
)


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


def to_json(backups: VolumeBackups | None) -> dict | None:
    """Plain data for the admin page's shared inventory cache (no pickle)."""
    if backups is None:
        return None
    return {
        "scanned_at": _timestamp(backups.scanned_at),
        "newest_backup": _timestamp(backups.newest_backup),
        "oldest_backup": _timestamp(backups.oldest_backup),
        "source_count": backups.source_count,
        "stale": backups.stale,
        "never_used": backups.never_used,
    }


def from_json(data: dict | None) -> VolumeBackups | None:
    if data is None:
        return None
    return VolumeBackups(
        scanned_at=_datetime(data["scanned_at"]),
        newest_backup=_datetime(data["newest_backup"]),
        oldest_backup=_datetime(data["oldest_backup"]),
        source_count=data["source_count"],
        stale=data["stale"],
        never_used=data["never_used"],
    )


def _timestamp(when: datetime.datetime | None) -> float | None:
    return when.timestamp() if when else None


def _datetime(timestamp: float | None) -> datetime.datetime | None:
    return None if timestamp is None else datetime.datetime.fromtimestamp(timestamp, datetime.UTC)


# The admin table's filters on backups (backup.staff.selection offers them);
# None is a volume never scanned.
def is_stale(backups: VolumeBackups | None) -> bool:
    return backups is not None and backups.stale


def is_never_used(backups: VolumeBackups | None) -> bool:
    return backups is not None and backups.never_used


def cells(backups, now):
    """One row's "Last backup" cell: its text (sorting, tests) and its HTML,
    made here in one format_html rather than by template tags per row."""
    if backups is None or backups.scanned_at is None:
        text = _("not checked")
        return {"last_backup": text, "last_backup_cell": text}
    if backups.newest_backup is None:
        text = _("none") if backups.source_count == 0 else _("none completed")
        html = text
    else:
        text = relative_time(backups.newest_backup, now)
        title = absolute_time(backups.newest_backup)
        html = format_html('<span title="{}">{}</span>', title, text)
    badge = STALE_BADGE if backups.stale else NEVER_USED_BADGE if backups.never_used else None
    if badge:
        html = format_html(
            '{} <span class="badge {}" title="{}">{}</span>', html, badge[1], badge[2], badge[0]
        )
    return {
        "last_backup": text,
        "last_backup_cell": html,
        "backup_badge": badge and str(badge[0]),
    }
