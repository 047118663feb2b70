"""A volume's snapshots as its pages show them, read from what the scheduled
run stored (snapshot-create.py's figures, snapshot-list.py's protection and
space): no privileged call per page view."""

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from backup.operations.models import Operation

from .detection import Change
from .models import MassChange, Snapshot, SnapshotSpace

# A volume this full, with only protected snapshots to free, needs space.
FULL_PERCENT = 90
# A snapshot holding less than this holds no backup worth restoring over
# the volume (an empty btrfs subvolume's quota group counts 16 KiB).
NEARLY_EMPTY_BYTES = 1024**2


@dataclass(frozen=True)
class SnapshotInfo:
    name: str
    taken_at: datetime
    protected_until: datetime | None
    protected: bool
    exclusive_bytes: int | None
    changed_bytes: int | None = None
    changed_files: int | None = None
    # Of what existed at the snapshot before (None: not measured).
    deleted_files: int | None = None
    overwritten_files: int | None = None
    # The state a restore of the whole volume undid.
    kept_by_rollback: bool = False
    # Another snapshot was taken in the same minute: shown with seconds.
    needs_seconds: bool = False


@dataclass
class VolumeSnapshots:
    supported: bool
    snapshots: list = field(default_factory=list)  # SnapshotInfo, newest first
    snapshot_bytes: int | None = None
    used_bytes: int = 0
    size_bytes: int = 0
    # When the server last listed them; None: not yet.
    listed_at: datetime | None = None

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
        """Full, and what snapshots hold can't be freed until protection ends
        (retention has already removed every unprotected one it could). The
        space they hold counts when measured; unmeasured, it may be anything."""
        return (
            self.full
            and bool(self.snapshots)
            and self.snapshot_bytes != 0
            and all(snapshot.protected for snapshot in self.snapshots)
        )


def _info(row: Snapshot, now: datetime) -> SnapshotInfo:
    until = row.protection_ends
    change = Change.from_report(row.change)
    return SnapshotInfo(
        name=row.name,
        taken_at=row.taken_at,
        protected_until=until,
        protected=until > now,
        exclusive_bytes=row.exclusive_bytes,
        changed_bytes=row.changed_bytes,
        changed_files=row.changed_files,
        deleted_files=change.deleted_files if change else None,
        overwritten_files=change.overwritten_files + change.truncated_files if change else None,
        kept_by_rollback=row.kept_by_rollback,
    )


def _minute(when: datetime) -> datetime:
    return when.replace(second=0, microsecond=0)


def _with_seconds_where_needed(snapshots: list[SnapshotInfo]) -> list[SnapshotInfo]:
    """Two snapshots in one minute (a manual one beside the scheduled one)
    would read the same without their seconds."""
    minutes = Counter(_minute(snapshot.taken_at) for snapshot in snapshots)
    return [
        replace(snapshot, needs_seconds=True)
        if minutes[_minute(snapshot.taken_at)] > 1
        else snapshot
        for snapshot in snapshots
    ]


def _volume(space: SnapshotSpace | None, rows: list, now: datetime) -> VolumeSnapshots:
    if space is not None and not space.supported:
        return VolumeSnapshots(supported=False, listed_at=space.listed_at)
    newest_first = sorted(rows, key=lambda row: row.taken_at)[::-1]
    return VolumeSnapshots(
        supported=True,
        snapshots=_with_seconds_where_needed([_info(row, now) for row in newest_first]),
        snapshot_bytes=space.snapshot_bytes if space else None,
        used_bytes=space.used_bytes if space else 0,
        size_bytes=space.size_bytes if space else 0,
        listed_at=space.listed_at if space else None,
    )


def snapshots_of(account: str) -> VolumeSnapshots:
    space = SnapshotSpace.objects.filter(volume__account=account).first()
    return _volume(space, list(Snapshot.objects.filter(volume__account=account)), timezone.now())


def all_snapshots(accounts) -> dict[str, VolumeSnapshots]:
    """Every given volume's snapshots, in two queries."""
    accounts = list(accounts)
    spaces = {
        space.account: space for space in SnapshotSpace.objects.filter(volume__account__in=accounts)
    }
    rows: dict[str, list[Snapshot]] = {}
    for row in Snapshot.objects.filter(volume__account__in=accounts):
        rows.setdefault(row.account, []).append(row)
    now = timezone.now()
    return {
        account: _volume(spaces.get(account), rows.get(account, []), now) for account in accounts
    }


def current_mass_change(account: str) -> MassChange | None:
    """The newest mass change the owner has not acted on: the warning ends
    when they dismiss it or restore anything (a file, a folder or the whole
    volume) after it; and once its restore point's protection is over, as
    restoring to it may no longer be possible."""
    cutoff = timezone.now() - timedelta(days=settings.SNAPSHOT_PROTECTION_DAYS)
    change = (
        MassChange.objects.select_related("snapshot")
        .filter(snapshot__volume__account=account, restore_point_taken_at__gte=cutoff)
        .first()
    )
    if change is None or change.dismissed_at is not None:
        return None
    restored = Operation.objects.filter(
        owner_name=account,
        kind__in=[Operation.Kind.ROLLBACK, Operation.Kind.RESTORE],
        state=Operation.State.SUCCEEDED,
        finished_at__gte=change.snapshot.taken_at,
    ).exists()
    return None if restored else change


def dismiss_mass_change(account: str, pk: int) -> bool:
    """The owner says they know about this mass change (theirs only)."""
    return bool(
        MassChange.objects.filter(
            pk=pk, snapshot__volume__account=account, dismissed_at__isnull=True
        ).update(dismissed_at=timezone.now())
    )


def shares_its_minute(account: str, name: str) -> bool:
    """Another of the volume's snapshots was taken in the same minute: its
    time is shown with seconds, or the two would read alike."""
    row = Snapshot.objects.filter(volume__account=account, name=name).only("taken_at").first()
    if row is None:
        return False
    start = _minute(row.taken_at)
    return (
        Snapshot.objects.filter(
            volume__account=account,
            taken_at__gte=start,
            taken_at__lt=start + timedelta(minutes=1),
        )
        .exclude(name=name)
        .exists()
    )


def holds_bytes(account: str, name: str) -> int | None:
    """What a snapshot holds as measured when it was taken; None: unknown."""
    row = Snapshot.objects.filter(volume__account=account, name=name).only("holds_bytes").first()
    return row.holds_bytes if row else None
