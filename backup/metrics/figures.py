"""The figures /metrics reports, read from what the portal has stored: the
volume records, the stored backup scans, the operations, and the usage and
pool figures the collectors record in the RRD files.

Nothing here runs a wrapper: a scrape every few seconds must cost the
server no more than reading its own files and database, in four queries
(staleness preferences, scans, volumes, operations by kind) whatever the
number of volumes (tests/test_metrics.py counts them).
"""

import datetime
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rrdtool
from django.conf import settings
from django.db.models import Count, Q

from backup.discovery import thresholds
from backup.discovery.models import BackupPreference, BackupScan
from backup.operations.models import Operation
from backup.stats import projection, rrd
from backup.volumes.models import Volume
from backup.volumes.status import GIB

# The collectors record every five minutes: a figure older than three of
# their runs is no longer the volume's, and is left out rather than shown.
RECENT_SECONDS = 15 * rrd.MINUTE


@dataclass(frozen=True)
class LastBackup:
    computer: str
    format: str
    path: str
    timestamp: float


@dataclass
class VolumeFigures:
    account: str
    size_bytes: int
    used_bytes: float | None = None
    scanned_at: float | None = None
    stale_computers: int = 0
    last_backups: list[LastBackup] = field(default_factory=list)


@dataclass(frozen=True)
class OperationFigures:
    kind: str
    total: int
    failed: int


@dataclass(frozen=True)
class PoolFigures:
    size_bytes: float | None
    allocated_bytes: float | None
    used_bytes: float | None
    days_to_full: float | None  # None: too little history; inf: not growing


def latest(path: Path, sources: tuple[str, ...], now: int) -> dict[str, float | None]:
    """The newest recorded value of each source of one RRD file within
    RECENT_SECONDS; None for a source without one, or without the file."""
    try:
        _, values = rrd.fetch(path, now - RECENT_SECONDS, now)
    except rrdtool.OperationalError:
        return dict.fromkeys(sources)
    return {
        name: next((v for v in reversed(values.get(name, [])) if v is not None), None)
        for name in sources
    }


def _stored_time(value: object) -> datetime.datetime | None:
    """A time as discovery stored it (its iso(), already checked when the
    scan was stored). fromisoformat reads it some hundred times faster than
    discovery's parse_time (strptime), which matters at thousands per scrape."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def _read_scan(figures: VolumeFigures, scan: BackupScan, cutoff: datetime.datetime) -> None:
    """The stale count, by discovery's rule, and one last-backup sample per
    computer. The names are the volume owner's to choose: two sources the
    scan stored with the same name, format and path (paths longer than the
    stored length) keep the newest, since Prometheus refuses a scrape that
    names one series twice."""
    newest: dict[tuple[str, str, str], float] = {}
    for source in scan.sources:
        when = _stored_time(source.get("last_backup"))
        if thresholds.status_of(source.get("state"), when, cutoff) == thresholds.STALE:
            figures.stale_computers += 1
        if when is None:
            continue
        key = (source.get("machine") or "", source.get("format") or "", source.get("path") or ".")
        newest[key] = max(newest.get(key, 0.0), when.timestamp())
    # Callers pass scans filtered on scanned_at__isnull=False.
    figures.scanned_at = scan.scanned_at.timestamp() if scan.scanned_at else None
    figures.last_backups = [LastBackup(*key, stamp) for key, stamp in sorted(newest.items())]


def volumes(now: datetime.datetime) -> list[VolumeFigures]:
    days_by_owner = dict(BackupPreference.objects.values_list("user_id", "stale_after_days"))
    scans = {
        scan.volume_id: scan
        for scan in BackupScan.objects.filter(scanned_at__isnull=False).only(
            "volume_id", "scanned_at", "sources"
        )
    }
    epoch = int(now.timestamp())
    found = []
    for volume_id, account, size_gib, owner_id in Volume.objects.order_by("account").values_list(
        "pk", "account", "size_gib", "owner_id"
    ):
        figures = VolumeFigures(account=account, size_bytes=size_gib * GIB)
        if rrd.ACCOUNT_PATTERN.fullmatch(account):
            figures.used_bytes = latest(rrd.space_file(account), ("used",), epoch)["used"]
        scan = scans.get(volume_id)
        if scan is not None:
            days = days_by_owner.get(owner_id) or settings.STALE_AFTER_DAYS
            _read_scan(figures, scan, thresholds.stale_cutoff(days, now))
        found.append(figures)
    return found


def operations() -> list[OperationFigures]:
    """Every kind, with zeros for those never run: a series that appears
    only after the first failure can't be alerted on by its rate."""
    counted: dict[str, Any] = {
        row["kind"]: row
        for row in Operation.objects.values("kind").annotate(
            total=Count("pk"), failed=Count("pk", filter=Q(state=Operation.State.FAILED))
        )
    }
    return [
        OperationFigures(
            kind, counted.get(kind, {}).get("total", 0), counted.get(kind, {}).get("failed", 0)
        )
        for kind in Operation.Kind.values
    ]


def pool(now: datetime.datetime) -> PoolFigures:
    epoch = int(now.timestamp())
    recorded = latest(rrd.pool_file(), ("size", "allocated", "used"), epoch)
    size, used = recorded["size"], recorded["used"]
    days = None
    if size is not None and used is not None:
        projected = projection.pool_projection(size=size, used=used, now=epoch)
        if projected.full:
            days = 0.0
        elif projected.enough_history:
            days = projected.days_left if projected.days_left is not None else math.inf
    return PoolFigures(size, recorded["allocated"], used, days)
