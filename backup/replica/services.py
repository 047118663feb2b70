"""The second server in the portal: its report stored, and read back as
what the pages, alerts and /metrics show.

The replica can't be asked (the primary holds no credential for it): it
reports to the primary at the end of each pull run, root keeps the last
report, and update_df_stats (every five minutes) fetches it with
replica-status.py and stores it here when it is new. Five minutes, not the
hourly discovery run: a report arrives once an hour at a time of the
replica's choosing, and the silence alert should follow within minutes.

Lag is the primary's newest snapshot (the Snapshot rows take_snapshots
stores) against the replica's newest copy, both snapshot times, so the two
machines' clocks never meet.
"""

import datetime
import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from backup.privileged import commands
from backup.snapshots.models import Snapshot
from backup.volumes.models import Volume

from .models import ReplicaCopy, ReplicaReport

ACCOUNT_PATTERN = re.compile(r"[a-z][a-z0-9._-]{0,31}")
NAME_PATTERN = re.compile(r"@GMT-(\d{4})\.(\d\d)\.(\d\d)-(\d\d)\.(\d\d)\.(\d\d)")
ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class ReportError(ValueError):
    """What replica-status.py returned is not a report this portal reads."""


def enabled() -> bool:
    return bool(settings.REPLICA_ENABLED)


def interval() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.REPLICA_INTERVAL_MINUTES)


def _time(text: Any) -> datetime.datetime:
    try:
        return datetime.datetime.strptime(text, ISO_FORMAT).replace(tzinfo=datetime.UTC)
    except (TypeError, ValueError):
        raise ReportError(f"not a time: {str(text)[:40]!r}") from None


def taken_at(name: str) -> datetime.datetime | None:
    """When the snapshot called name was taken (its name says), or None."""
    found = NAME_PATTERN.fullmatch(name or "")
    if found is None:
        return None
    try:
        year, month, day, hour, minute, second = map(int, found.groups())
        return datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.UTC)
    except ValueError:
        return None


def _copies(volumes: Any) -> list[ReplicaCopy]:
    if not isinstance(volumes, dict):
        raise ReportError("volumes is not an object")
    copies = []
    for account, entry in volumes.items():
        if not ACCOUNT_PATTERN.fullmatch(account) or not isinstance(entry, dict):
            raise ReportError(f"a volume named {account[:40]!r}")
        newest = entry.get("newest") or ""
        count = entry.get("count")
        if not isinstance(count, int) or count < 0 or (newest and taken_at(newest) is None):
            raise ReportError(f"volume {account}'s entry is malformed")
        copies.append(
            ReplicaCopy(
                account=account,
                newest=newest,
                newest_taken_at=taken_at(newest),
                count=count,
                error=str(entry.get("error") or "")[:300],
            )
        )
    return copies


@transaction.atomic
def store_report(report: dict) -> bool:
    """Replace the stored report with this one, unless it is the one stored
    already (the same arrival): True when something changed. Root checked
    it as hostile before keeping it; it is checked again for what the
    database needs, and refused whole when anything is off."""
    received_at = _time(report.get("received_at"))
    stored = ReplicaReport.objects.select_for_update().filter(pk=1).first()
    if stored is not None and stored.received_at == received_at:
        return False
    pool = report.get("pool") or {}
    verify = report.get("verify")
    copies = _copies(report.get("volumes"))
    values = {
        "checked_at": _time(report.get("checked_at")),
        "received_at": received_at,
        "reachable": report.get("reachable") is True,
        "error": str(report.get("error") or "")[:300],
        "pool_size_bytes": int(pool.get("size_bytes") or 0),
        "pool_free_bytes": int(pool.get("free_bytes") or 0),
        "verify_checked_at": _time(verify["checked_at"]) if verify else None,
        "verify_failed": [str(user)[:32] for user in verify["failed"]] if verify else [],
    }
    ReplicaReport.objects.update_or_create(pk=1, defaults=values)
    ReplicaCopy.objects.all().delete()
    ReplicaCopy.objects.bulk_create(copies, batch_size=500)
    return True


def refresh() -> bool:
    """One privileged call: the replica's last report, stored when new.
    Nothing at all when no replica is configured."""
    if not enabled():
        return False
    report = commands.replica_status()
    if report is None:
        return False
    if not isinstance(report, dict):
        raise ReportError("the report is not an object")
    try:
        return store_report(report)
    except (TypeError, KeyError, AttributeError, OverflowError) as error:
        raise ReportError(f"malformed: {error}") from None


# --- Reading it back ---------------------------------------------------------


@dataclass
class VolumeCopy:
    """One volume on the second server. ``lag``: how far the replica's
    newest copy is behind the primary's newest snapshot (with no copy yet,
    how long the primary's oldest snapshot has waited); None when the
    primary has no snapshot to copy."""

    account: str
    newest: str
    newest_taken_at: datetime.datetime | None
    count: int
    error: str
    primary_newest: datetime.datetime | None
    lag: datetime.timedelta | None
    behind: bool

    @property
    def lag_seconds(self) -> int | None:
        return int(self.lag.total_seconds()) if self.lag is not None else None


@dataclass
class ReplicaState:
    report: ReplicaReport | None
    silent_for: datetime.timedelta | None
    unreachable: bool
    volumes: list[VolumeCopy] = field(default_factory=list)

    @property
    def behind(self) -> list[VolumeCopy]:
        return [volume for volume in self.volumes if volume.behind]

    @property
    def max_lag(self) -> datetime.timedelta | None:
        return max((v.lag for v in self.volumes if v.lag is not None), default=None)


@dataclass(slots=True)
class StoredCopy:
    account: str
    newest: str
    newest_taken_at: datetime.datetime | None
    count: int
    error: str


def _stored_copies(rows) -> list[StoredCopy]:
    # Tuples, not model instances: ten thousand of them cost a fifth of a
    # second as instances, on every admin page view.
    fields = ("account", "newest", "newest_taken_at", "count", "error")
    return [StoredCopy(*row) for row in rows.values_list(*fields)]


def _copy(account, copy, primary, now) -> VolumeCopy:
    newest_primary, oldest_primary = primary or (None, None)
    if newest_primary is None:
        lag = None
    elif copy is not None and copy.newest_taken_at is not None:
        lag = max(newest_primary - copy.newest_taken_at, datetime.timedelta(0))
    else:
        lag = max(now - oldest_primary, datetime.timedelta(0))
    return VolumeCopy(
        account=account,
        newest=copy.newest if copy else "",
        newest_taken_at=copy.newest_taken_at if copy else None,
        count=copy.count if copy else 0,
        error=copy.error if copy else "",
        primary_newest=newest_primary,
        lag=lag,
        behind=lag is not None and lag > 2 * interval(),
    )


def _primary_snapshots(accounts=None) -> dict[str, tuple]:
    rows = Snapshot.objects.all()
    if accounts is not None:
        rows = rows.filter(volume_id__in=accounts)
    # volume_id is the volume's account name (the key is Volume.account).
    return {
        str(row["volume_id"]): (row["newest"], row["oldest"])
        for row in rows.values("volume_id").annotate(newest=Max("taken_at"), oldest=Min("taken_at"))
    }


def _report_state(report, now) -> tuple[datetime.timedelta | None, bool]:
    if report is None:
        return None, False
    silent = max(now - report.received_at, datetime.timedelta(0))
    return silent, silent > 2 * interval() or not report.reachable


def state(now: datetime.datetime | None = None) -> ReplicaState | None:
    """Everything about the second server (None when none is configured):
    three queries, whatever the number of volumes."""
    if not enabled():
        return None
    now = now or timezone.now()
    report = ReplicaReport.objects.filter(pk=1).first()
    silent, unreachable = _report_state(report, now)
    copies = {copy.account: copy for copy in _stored_copies(ReplicaCopy.objects.all())}
    primary = _primary_snapshots()
    accounts = set(Volume.objects.values_list("account", flat=True)) & set(primary)
    volumes = [
        _copy(account, copies.get(account), primary.get(account), now)
        for account in sorted(accounts | set(copies))
    ]
    return ReplicaState(report=report, silent_for=silent, unreachable=unreachable, volumes=volumes)


def copy_of(account: str, now: datetime.datetime | None = None) -> VolumeCopy | None:
    """One volume's copy for its owner's dashboard (None: no replica)."""
    if not enabled():
        return None
    now = now or timezone.now()
    copy = next(iter(_stored_copies(ReplicaCopy.objects.filter(account=account))), None)
    return _copy(account, copy, _primary_snapshots([account]).get(account), now)
