"""A volume's snapshots as its pages show them: the wrapper's list (cached
briefly, like the volume's state) joined with the change each run measured."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from backup.privileged import commands
from backup.privileged.client import PrivilegedError

from .models import MassChange, Snapshot
from .services import taken_at_of

# A volume this full, with only protected snapshots to free, needs space.
FULL_PERCENT = 90


class SnapshotsUnavailable(Exception):
    pass


@dataclass(frozen=True)
class SnapshotInfo:
    name: str
    taken_at: datetime
    protected_until: datetime | None
    protected: bool
    exclusive_bytes: int | None
    changed_bytes: int | None = None
    changed_files: int | None = None


@dataclass
class VolumeSnapshots:
    supported: bool
    snapshots: list = field(default_factory=list)  # SnapshotInfo, newest first
    snapshot_bytes: int | None = None
    used_bytes: int = 0
    size_bytes: int = 0

    @property
    def snapshot_percent(self) -> int | None:
        if self.snapshot_bytes is None or not self.size_bytes:
            return None
        return round(100 * self.snapshot_bytes / self.size_bytes)

    @property
    def full(self) -> bool:
        return bool(self.size_bytes) and 100 * self.used_bytes >= FULL_PERCENT * self.size_bytes

    @property
    def held_by_protected_only(self) -> bool:
        """Full, and what snapshots hold can't be freed until protection ends."""
        return (
            self.full
            and bool(self.snapshots)
            and bool(self.snapshot_bytes)
            and all(snapshot.protected for snapshot in self.snapshots)
        )


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _time(value) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    if parsed is not None and timezone.is_naive(parsed):
        return None
    return parsed


def _measured(accounts) -> dict:
    """{(account, snapshot name): (changed bytes, changed files)}, one query."""
    rows = Snapshot.objects.filter(account__in=list(accounts)).values_list(
        "account", "name", "changed_bytes", "changed_files"
    )
    return {(account, name): (changed, files) for account, name, changed, files in rows}


def volume_snapshots(account: str, record: dict, measured: dict | None = None) -> VolumeSnapshots:
    """One volume's entry of snapshot-list.py, checked field by field;
    ``measured`` is _measured() of at least this account."""
    if not isinstance(record, dict) or not record.get("supported"):
        return VolumeSnapshots(supported=False)
    if measured is None:
        measured = _measured([account])
    snapshots = []
    for entry in record.get("snapshots") or []:
        name = entry.get("name") if isinstance(entry, dict) else None
        taken_at = taken_at_of(name) if isinstance(name, str) else None
        if taken_at is None:
            continue
        changed = measured.get((account, name), (None, None))
        snapshots.append(
            SnapshotInfo(
                name=name,
                taken_at=taken_at,
                protected_until=_time(entry.get("protected_until")),
                protected=bool(entry.get("protected")),
                exclusive_bytes=_int(entry.get("exclusive_bytes")),
                changed_bytes=changed[0],
                changed_files=changed[1],
            )
        )
    snapshots.sort(key=lambda snapshot: snapshot.taken_at, reverse=True)
    return VolumeSnapshots(
        supported=True,
        snapshots=snapshots,
        snapshot_bytes=_int(record.get("snapshot_bytes")),
        used_bytes=_int(record.get("used_bytes")) or 0,
        size_bytes=_int(record.get("size_bytes")) or 0,
    )


def snapshots_of(account: str, version: int) -> VolumeSnapshots:
    """The volume's snapshots; the privileged query is reused for a short
    while, and ``version`` (as for the volume's state) ends that early."""
    key = f"volume-snapshots:{account}:{version}"
    record = cache.get(key)
    if record is None:
        try:
            record = (commands.snapshots(account) or {}).get(account, {})
        except PrivilegedError as error:
            raise SnapshotsUnavailable(str(error)) from error
        cache.set(key, record, settings.VOLUME_CACHE_SECONDS)
    return volume_snapshots(account, record)


def all_snapshots() -> dict[str, VolumeSnapshots]:
    """Every volume's snapshots, in one privileged call (admin pages)."""
    try:
        records = commands.snapshots() or {}
    except PrivilegedError as error:
        raise SnapshotsUnavailable(str(error)) from error
    measured = _measured(records)
    return {
        account: volume_snapshots(account, record, measured) for account, record in records.items()
    }


def current_mass_change(account: str) -> MassChange | None:
    """The newest mass change whose restore point is still protected: as long
    as restoring to it is possible, the warning stays."""
    cutoff = timezone.now() - timedelta(days=settings.SNAPSHOT_PROTECTION_DAYS)
    return (
        MassChange.objects.select_related("snapshot")
        .filter(snapshot__account=account, restore_point_taken_at__gte=cutoff)
        .first()
    )
