"""When a computer counts as stale, stalled or fine: the rules the
dashboard and the alerts share.

A computer is stale when its last completed backup is older than its
owner's threshold (STALE_AFTER_DAYS until they choose one), whatever the
state of the backup under way: a backup interrupted a month ago is a month
old. Where the format shows only the last change to the repository (Borg 1,
Kopia: pruning changes it too), that date is what the threshold is applied
to, and the pages say so. A backup in progress for longer than
IN_PROGRESS_STALLED_AFTER_HOURS has stalled (a damaged or abandoned
repository, a first backup that never finishes): it alerts as a stale one.

Where the scan sees only when a backup's files were last written (image
files, Time Machine bundles without snapshot history), a recent write is
not called OK: its status says that completion is unknown (the computer's
own check-in can tell), and an old one is stale as usual. A copy or mirror
keeps no versions: it is shown as a copy, never OK and never alerted about
from the scan (what it copied may simply not have changed).
"""

import datetime

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import MAX_STALE_DAYS, MIN_STALE_DAYS, BackupPreference

# A computer's status on the dashboard: (label, Bootstrap badge class).
OK, STALE, IN_PROGRESS, FAILED, NO_BACKUP = "ok", "stale", "in_progress", "failed", "none"
STALLED = "stalled"
UNKNOWN, COPY = "unknown", "copy"
# Evidence (cleaning.EVIDENCE) of a write whose completion is unknown.
COMPLETION_UNKNOWN = ("bands", "bands_sample", "last_written")
# The statuses the owner is emailed about.
ALERTING = (STALE, STALLED)
BADGES = {
    OK: (_("OK"), "text-bg-success"),
    STALE: (_("Stale"), "text-bg-warning"),
    STALLED: (_("Stalled"), "text-bg-warning"),
    IN_PROGRESS: (_("In progress"), "text-bg-info"),
    FAILED: (_("Failed"), "text-bg-danger"),
    NO_BACKUP: (_("No backup yet"), "text-bg-secondary"),
    UNKNOWN: (_("Completion unknown"), "text-bg-light border"),
    COPY: (_("Copy"), "text-bg-light border"),
}

# Older scans no longer tell whether a computer backs up (the scan timer
# stopped, the volume is unmounted): no alert is sent from them.
SCAN_OUTDATED_AFTER = datetime.timedelta(hours=48)


def stale_after_days(user) -> int:
    return stale_after_days_for(user.pk)


def stale_after_days_for(user_id: int) -> int:
    chosen = (
        BackupPreference.objects.filter(user_id=user_id)
        .values_list("stale_after_days", flat=True)
        .first()
    )
    return chosen or settings.STALE_AFTER_DAYS


def set_stale_after_days(user, days: int) -> None:
    if not MIN_STALE_DAYS <= days <= MAX_STALE_DAYS:
        raise ValueError(f"{days} is not from {MIN_STALE_DAYS} to {MAX_STALE_DAYS}")
    BackupPreference.objects.update_or_create(user=user, defaults={"stale_after_days": days})


def stale_cutoff(days: int, now: datetime.datetime) -> datetime.datetime:
    return now - datetime.timedelta(days=days)


def stalled_cutoff(now: datetime.datetime) -> datetime.datetime:
    return now - datetime.timedelta(hours=settings.IN_PROGRESS_STALLED_AFTER_HOURS)


def status_of(
    state: str,
    last_backup: datetime.datetime | None,
    cutoff: datetime.datetime,
    in_progress_since: datetime.datetime | None = None,
    stalled_before: datetime.datetime | None = None,
    evidence: str | None = None,
) -> str:
    if evidence == "copy":
        return COPY
    if state == "failed":
        return FAILED
    if (
        state == "in_progress"
        and in_progress_since is not None
        and stalled_before is not None
        and in_progress_since < stalled_before
    ):
        return STALLED
    if last_backup is not None and last_backup < cutoff:
        return STALE
    if state == "in_progress":
        return IN_PROGRESS
    if last_backup is None:
        return NO_BACKUP
    if evidence in COMPLETION_UNKNOWN:
        return UNKNOWN
    return OK


def never_used(scanned: bool, empty: bool, created_at, now: datetime.datetime) -> bool:
    """Nothing at all on a volume made NEVER_USED_AFTER_DAYS ago or earlier."""
    old_enough = created_at is not None and created_at <= now - datetime.timedelta(
        days=settings.NEVER_USED_AFTER_DAYS
    )
    return scanned and empty and old_enough
