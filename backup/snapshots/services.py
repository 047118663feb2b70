"""The scheduled snapshot run: one privileged call for every volume, what
it reported stored per snapshot, and mass changes detected and announced."""

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation

from backup.privileged import commands
from backup.privileged.client import PrivilegedError
from backup.privileged.results import Change as ReportedChange
from backup.privileged.results import SnapshotListing, SnapshotRunResult, VolumeSnapshotResult
from backup.volumes.models import Volume

from . import alerts
from .detection import WINDOW, Change, Thresholds, Verdict, assess, began_with, describe
from .models import MassChange, Snapshot, SnapshotRun, SnapshotSpace

logger = logging.getLogger("backup.snapshots")

# Samba shadow_copy2's default format, which the wrappers use (UTC).
SNAPSHOT_NAME = re.compile(r"@GMT-(\d{4})\.(\d{2})\.(\d{2})-(\d{2})\.(\d{2})\.(\d{2})")
# What an error line from the wrapper may take up in the admin page.
MAX_ERROR_CHARS = 300
# Rows per statement when the stored snapshots are written or deleted.
BATCH = 500


def taken_at_of(name: str) -> datetime | None:
    """When a snapshot was taken, from its name; None for a name that is not
    a snapshot's (the wrapper's output is parsed, never trusted for layout)."""
    match = SNAPSHOT_NAME.fullmatch(name or "")
    if not match:
        return None
    year, month, day, hour, minute, second = map(int, match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


@dataclass
class RunReport:
    run: SnapshotRun
    taken: list = field(default_factory=list)  # Snapshot
    mass_changes: list = field(default_factory=list)  # MassChange


def take_snapshots() -> RunReport:
    """Snapshot every volume (one privileged call), record, detect, announce."""
    result = commands.take_all_snapshots()
    report = record_run(result)
    report.run.snapshot_bytes = refresh_listing()
    report.run.save(update_fields=["snapshot_bytes"])
    for mass_change in report.mass_changes:
        alerts.announce(mass_change)
    return report


def refresh_listing(account: str | None = None) -> int | None:
    """Store what snapshot-list.py says now, for every volume (one privileged
    call) or one; returns the bytes all listed snapshots hold, None when the
    list could not be read (what is stored stays). A thousand volumes with
    their whole retention are hundreds of thousands of snapshots listed, of
    which a run adds one and prunes one or two per volume: the stored rows
    are compared in one query of the compared fields alone, and only what
    differs is written (issue 25)."""
    try:
        records: Mapping[str, SnapshotListing | None] = (
            {account: commands.snapshots(account)} if account else commands.all_snapshots()
        )
    except PrivilegedError as error:
        logger.error("snapshot list not read: %s", error)
        return None
    known = sorted(
        Volume.objects.filter(account__in=list(records)).values_list("account", flat=True)
    )
    now = timezone.now()
    spaces, listed_accounts = [], []
    # {(account, name): (protected_until, exclusive_bytes)}
    listed: dict[tuple[str, str], tuple[datetime | None, int | None]] = {}
    for name in known:
        record = records[name]
        supported = record is not None and record["supported"]
        spaces.append(
            SnapshotSpace(
                volume_id=name,
                supported=supported,
                snapshot_bytes=record["snapshot_bytes"] if record and supported else None,
                used_bytes=record["used_bytes"] if record else 0,
                size_bytes=record["size_bytes"] if record else 0,
                listed_at=now,
            )
        )
        if record is None or not supported:
            # ext4/xfs, or not mounted (a suspended volume): its snapshots,
            # if any, are unknown now, not gone; their rows stay.
            continue
        listed_accounts.append(name)
        for entry in record["snapshots"]:
            listed[(name, entry["name"])] = (
                datetime.fromisoformat(entry["protected_until"]),
                entry["exclusive_bytes"],
            )
    with transaction.atomic():
        SnapshotSpace.objects.bulk_create(
            spaces,
            update_conflicts=True,
            unique_fields=["volume"],
            update_fields=["supported", "snapshot_bytes", "used_bytes", "size_bytes", "listed_at"],
        )
        changed, gone = [], []
        stored = Snapshot.objects.filter(volume_id__in=listed_accounts).order_by()
        # volume_id is the volume's account name (the key is Volume.account).
        for pk, owner, snapshot, protected_until, exclusive_bytes in stored.values_list(
            "pk", "volume_id", "name", "protected_until", "exclusive_bytes"
        ).iterator(chunk_size=BATCH):
            fresh = listed.pop((str(owner), snapshot), None)
            if fresh is None:
                gone.append(pk)
            elif (protected_until, exclusive_bytes) != fresh:
                changed.append(Snapshot(pk=pk, protected_until=fresh[0], exclusive_bytes=fresh[1]))
        for start in range(0, len(gone), BATCH):
            Snapshot.objects.filter(pk__in=gone[start : start + BATCH]).delete()
        Snapshot.objects.bulk_update(changed, ["protected_until", "exclusive_bytes"], BATCH)
        # What is left was taken outside the scheduled run (the state kept by
        # a restore of the whole volume): listed, with no change measured.
        # Names are checked here, for the new rows only: a stored row's name
        # was checked when it was stored.
        used = {space.account: space for space in spaces}
        Snapshot.objects.bulk_create(
            [
                Snapshot(
                    volume_id=name,
                    name=snapshot,
                    taken_at=taken_at,
                    used_bytes=used[name].used_bytes,
                    size_bytes=used[name].size_bytes,
                    protected_until=protected_until,
                    exclusive_bytes=exclusive_bytes,
                )
                for (name, snapshot), (protected_until, exclusive_bytes) in listed.items()
                if (taken_at := taken_at_of(snapshot)) is not None
            ],
            batch_size=BATCH,
        )
    measured = [space.snapshot_bytes for space in spaces if space.snapshot_bytes is not None]
    # The wrappers measure it only with btrfs quota groups on: else unknown.
    return sum(measured) if measured else None


def record_run(result: SnapshotRunResult, now: datetime | None = None) -> RunReport:
    """Store what snapshot-create.py reported; returns the new mass changes.
    A fixed number of queries whatever the number of volumes, plus one per
    mass change."""
    now = now or timezone.now()
    reported = result["volumes"]
    accounts = Volume.objects.filter(account__in=list(reported)).values_list("account", flat=True)
    known = sorted(accounts)
    errors: dict[str, str] = {}
    pruned: set[tuple[str, str]] = set()
    taken: list[Snapshot] = []
    for account in known:
        outcome = reported[account]
        if outcome["error"]:
            errors[account] = outcome["error"][:MAX_ERROR_CHARS]
        pruned |= {(account, name) for name in outcome["pruned"]}
        snapshot = _snapshot_from(account, outcome)
        if snapshot is not None:
            taken.append(snapshot)
    for account in sorted(set(reported) - set(known)):
        logger.warning("snapshot-create.py reported %r, unknown to the portal", account)
    mass_changes: list[MassChange] = []
    with transaction.atomic():
        _delete_pruned(pruned)
        Snapshot.objects.bulk_create(
            taken,
            batch_size=BATCH,
            update_conflicts=True,
            unique_fields=["volume", "name"],
            update_fields=[
                "taken_at",
                "changed_bytes",
                "changed_files",
                "used_bytes",
                "size_bytes",
                "change",
                "window_change",
                "holds_bytes",
            ],
        )
        # {account: {snapshot name: when its mass change was dismissed}}
        alerted: dict[str, dict[str, datetime | None]] = {}
        for account, name, dismissed in MassChange.objects.filter(
            snapshot__volume__account__in=known
        ).values_list("snapshot__volume__account", "snapshot__name", "dismissed_at"):
            alerted.setdefault(account, {})[name] = dismissed
        thresholds = Thresholds.from_settings()
        suspects = []
        for snapshot in taken:
            if snapshot.name in alerted.get(snapshot.account, {}):
                continue
            verdict = assess(
                Change.from_report(snapshot.change),
                Change.from_report(snapshot.window_change),
                thresholds,
            )
            if verdict is not None:
                suspects.append((snapshot, verdict))
        # Only a volume with a verdict needs its past snapshots (a restore
        # point, an alert already given): not every volume's whole list.
        earlier = _earlier_snapshots([snapshot.account for snapshot, _ in suspects])
        for snapshot, verdict in suspects:
            mine = alerted.get(snapshot.account, {})
            before = [
                row for row in earlier.get(snapshot.account, []) if row.taken_at < snapshot.taken_at
            ]
            mass_change = _detect(snapshot, verdict, before, mine)
            if mass_change is not None:
                mass_changes.append(mass_change)
        run = SnapshotRun.objects.create(
            taken_at=now,
            volumes=len(known),
            snapshots=len(taken),
            pruned=len(pruned),
            errors=errors,
        )
    report = RunReport(run=run, taken=taken, mass_changes=mass_changes)
    for account, error in errors.items():
        logger.error("no snapshot of %s: %s", account, error)
    return report


def _change(raw: ReportedChange | None) -> dict | None:
    change = Change.from_report(raw)
    if change is None or taken_at_of(change.base) is None:
        return None
    return change.as_json()


def _snapshot_from(account: str, outcome: VolumeSnapshotResult) -> Snapshot | None:
    name = outcome["snapshot"]
    if name is None or (taken_at := taken_at_of(name)) is None:
        return None
    return Snapshot(
        change=_change(outcome["change"]),
        window_change=_change(outcome["window_change"]),
        holds_bytes=outcome["holds_bytes"],
        volume_id=account,
        name=name,
        taken_at=taken_at,
        changed_bytes=outcome["changed_bytes"],
        changed_files=outcome["changed_files"],
        used_bytes=outcome["used_bytes"],
        size_bytes=outcome["size_bytes"],
    )


def _delete_pruned(pruned: set[tuple[str, str]]) -> None:
    """Delete the rows of the snapshots retention pruned, (account, name)
    pairs: grouped by name, since one run prunes the same few names on
    every volume, so a handful of statements, never one per volume."""
    accounts_by_name: dict[str, list[str]] = {}
    for account, name in sorted(pruned):
        accounts_by_name.setdefault(name, []).append(account)
    names = list(accounts_by_name)
    # A bounded number of OR'd terms per statement (SQLite limits a
    # statement's expression depth).
    for start in range(0, len(names), 50):
        chosen = Q()
        for name in names[start : start + 50]:
            chosen |= Q(name=name, volume_id__in=accounts_by_name[name])
        Snapshot.objects.filter(chosen).delete()


def _earlier_snapshots(accounts: list[str]) -> dict[str, list[Snapshot]]:
    """These volumes' stored snapshots, oldest first. Their change figures
    are read only if a slow change needs them (restore_point)."""
    earlier: dict[str, list[Snapshot]] = {}
    if not accounts:
        return earlier
    rows = Snapshot.objects.filter(volume_id__in=accounts).order_by("volume_id", "taken_at")
    for row in rows.only("volume", "name", "taken_at", "kept_by_rollback"):
        earlier.setdefault(row.account, []).append(row)
    return earlier


def _destroyed_files(row: Snapshot) -> int:
    change = Change.from_report(row.change)
    return change.destroyed_files if change else 0


def restore_point(
    snapshot: Snapshot, verdict: Verdict, earlier: list[Snapshot], alerted: dict
) -> Snapshot | None:
    """The newest snapshot from before the change began that holds a state
    the volume really had before it: never the state a rollback kept (what
    it undid) nor one that was itself a mass change's result, unless its
    owner dismissed that one (a clean-up of their own is a state they
    want). ``alerted``: {snapshot name: when its mass change was dismissed}."""
    start = verdict.base
    window_start = taken_at_of(verdict.base) if verdict.scope == WINDOW else None
    if window_start is not None:
        newest_first = [snapshot] + [row for row in earlier[::-1] if row.taken_at > window_start]
        # The run of intervals that each destroyed files, back from now.
        began = began_with([_destroyed_files(row) for row in newest_first])
        if began:
            first = Change.from_report(newest_first[began - 1].change)
            start = first.base if first else start
    start_at = taken_at_of(start)
    if start_at is None:
        return None
    candidates = [
        row
        for row in earlier
        if row.taken_at <= start_at
        and not row.kept_by_rollback
        and (row.name not in alerted or alerted[row.name] is not None)
    ]
    return candidates[-1] if candidates else None


def _already_alerted(verdict: Verdict, earlier: list[Snapshot], alerted: dict) -> bool:
    """A window verdict over a destruction already alerted on (the window
    still holds it for a day): one alert, not one per run."""
    window_start = taken_at_of(verdict.base) if verdict.scope == WINDOW else None
    if window_start is None:
        return False
    return any(row.name in alerted and row.taken_at > window_start for row in earlier)


def _detect(
    snapshot: Snapshot, verdict: Verdict, earlier: list[Snapshot], alerted: dict
) -> MassChange | None:
    if _already_alerted(verdict, earlier, alerted):
        return None
    point = restore_point(snapshot, verdict, earlier, alerted)
    facts = verdict.facts()
    with translation.override("en"):
        reason = describe(facts)
    # Counts and sizes only: file names never reach the log.
    logger.warning("mass change on %s: %s", snapshot, reason)
    return MassChange.objects.create(
        snapshot=Snapshot.objects.get(volume__account=snapshot.account, name=snapshot.name),
        restore_point=point.name if point else "",
        restore_point_taken_at=point.taken_at if point else snapshot.taken_at,
        reason=reason[:200],
        facts=facts,
    )
