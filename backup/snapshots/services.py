"""The scheduled snapshot run: one privileged call for every volume, what
it reported stored per snapshot, and mass changes detected and announced."""

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backup.privileged import commands
from backup.privileged.client import PrivilegedError
from backup.volumes.models import Volume

from . import alerts
from .detection import mass_change_reason
from .models import MassChange, Snapshot, SnapshotRun

logger = logging.getLogger("backup.snapshots")

# Samba shadow_copy2's default format, which the wrappers use (UTC).
SNAPSHOT_NAME = re.compile(r"@GMT-(\d{4})\.(\d{2})\.(\d{2})-(\d{2})\.(\d{2})\.(\d{2})")
# What an error line from the wrapper may take up in the admin page.
MAX_ERROR_CHARS = 300


def taken_at_of(name: str) -> datetime | None:
    """When a snapshot was taken, from its name; None for a name that is not
    a snapshot's (the wrapper's output is parsed, never trusted for layout)."""
    match = SNAPSHOT_NAME.fullmatch(name or "")
    if not match:
        return None
    try:
        return datetime(*map(int, match.groups()), tzinfo=UTC)
    except ValueError:
        return None


def _count(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


@dataclass
class RunReport:
    run: SnapshotRun
    taken: list = field(default_factory=list)  # Snapshot
    mass_changes: list = field(default_factory=list)  # MassChange


def take_snapshots() -> RunReport:
    """Snapshot every volume (one privileged call), record, detect, announce."""
    result = commands.take_snapshots() or {}
    report = record_run(result)
    report.run.snapshot_bytes = _snapshot_space()
    report.run.save(update_fields=["snapshot_bytes"])
    for mass_change in report.mass_changes:
        alerts.announce(mass_change)
    return report


def _snapshot_space() -> int | None:
    """What all snapshots hold now: a second privileged call per run (not
    per volume), so the pool view can show it without one of its own."""
    try:
        records = commands.snapshots() or {}
    except PrivilegedError as error:
        logger.error("snapshot space unknown: %s", error)
        return None
    return sum(
        _count(record.get("snapshot_bytes")) or 0
        for record in records.values()
        if isinstance(record, dict)
    )


def record_run(result: dict, now: datetime | None = None) -> RunReport:
    """Store what snapshot-create.py reported; returns the new mass changes."""
    now = now or timezone.now()
    reported = result.get("volumes") if isinstance(result.get("volumes"), dict) else {}
    known = set(Volume.objects.filter(account__in=list(reported)).values_list("account", flat=True))
    errors, pruned_count = {}, 0
    report = RunReport(run=None)
    with transaction.atomic():
        for account in sorted(known):
            outcome = reported[account] if isinstance(reported[account], dict) else {}
            if outcome.get("error"):
                errors[account] = str(outcome["error"])[:MAX_ERROR_CHARS]
            pruned = [name for name in outcome.get("pruned") or [] if isinstance(name, str)]
            pruned_count += len(pruned)
            Snapshot.objects.filter(account=account, name__in=pruned).delete()
            snapshot = _record_snapshot(account, outcome)
            if snapshot is None:
                continue
            report.taken.append(snapshot)
            mass_change = _detect(snapshot)
            if mass_change is not None:
                report.mass_changes.append(mass_change)
        for account in sorted(set(reported) - known):
            logger.warning("snapshot-create.py reported %r, unknown to the portal", account)
        report.run = SnapshotRun.objects.create(
            taken_at=now,
            volumes=len(known),
            snapshots=len(report.taken),
            pruned=pruned_count,
            errors=errors,
        )
    for account, error in errors.items():
        logger.error("no snapshot of %s: %s", account, error)
    return report


def _record_snapshot(account: str, outcome: dict) -> Snapshot | None:
    name = outcome.get("snapshot")
    taken_at = taken_at_of(name) if isinstance(name, str) else None
    if taken_at is None:
        return None
    snapshot, _ = Snapshot.objects.update_or_create(
        account=account,
        name=name,
        defaults={
            "taken_at": taken_at,
            "changed_bytes": _count(outcome.get("changed_bytes")),
            "changed_files": _count(outcome.get("changed_files")),
            "used_bytes": _count(outcome.get("used_bytes")) or 0,
            "size_bytes": _count(outcome.get("size_bytes")) or 0,
        },
    )
    return snapshot


def _detect(snapshot: Snapshot) -> MassChange | None:
    earlier = Snapshot.objects.filter(account=snapshot.account, taken_at__lt=snapshot.taken_at)
    previous = earlier.order_by("-taken_at").first()
    if previous is None or hasattr(snapshot, "mass_change"):
        return None
    history = list(
        earlier.filter(changed_bytes__gt=0)
        .order_by("-taken_at")
        .values_list("changed_bytes", flat=True)[: settings.MASS_CHANGE_HISTORY]
    )
    reason = mass_change_reason(snapshot.changed_bytes, previous.used_bytes, history[::-1])
    if reason is None:
        return None
    logger.warning("mass change on %s: %s", snapshot, reason)
    return MassChange.objects.create(
        snapshot=snapshot,
        restore_point=previous.name,
        restore_point_taken_at=previous.taken_at,
        reason=reason,
    )
