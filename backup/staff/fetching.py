"""Taking the inventory: the pool and every volume, from two privileged
calls whatever the number of volumes (run side by side, in threads, since
each mostly waits for sudo and its wrapper), joined with what the portal's
database knows; usage is read with statvfs, unprivileged."""

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db.models import OuterRef, Subquery

from backup.discovery import staff as backup_column
from backup.operations.models import Operation
from backup.privileged import commands
from backup.privileged.results import VolumeRecord
from backup.volumes.models import Volume
from backup.volumes.status import usage_of

from .pool import Pool
from .rows import VolumeRow


def pool() -> Pool:
    data = commands.pool()
    return Pool(
        backend=data["backend"],
        name=data["name"],
        size_bytes=data["size_bytes"],
        allocated_bytes=data["allocated_bytes"],
        used_bytes=data["used_bytes"],
        free_bytes=data["free_bytes"],
        volume_count=data["volume_count"],
    )


def pool_and_volume_rows() -> tuple[Pool, list[VolumeRow]]:
    """The pool and every volume; the two privileged queries run side by side."""
    with ThreadPoolExecutor(max_workers=2) as executor:
        pool_future = executor.submit(pool)
        inventory_future = executor.submit(commands.inventory)
        return pool_future.result(), volume_rows(inventory_future.result())


def volume_rows(inventory: Iterable[VolumeRecord]) -> list[VolumeRow]:
    """One row per volume on the server or in the portal, by account."""
    records = {record["user"]: record for record in inventory}
    last_state_of = Subquery(
        Operation.objects.filter(owner_name=OuterRef("owner__username"))
        .exclude(kind=Operation.Kind.SET_QUOTA)
        .order_by("-id")
        .values("state")[:1]
    )
    known = {
        account: rest
        for account, *rest in Volume.objects.annotate(last_state=last_state_of).values_list(
            "account",
            "owner__username",
            "owner__backup_quota__max_size_gib",
            "created_at",
            "suspended_at",
            "last_state",
        )
    }
    backups = backup_column.volume_backups()  # one query for every volume's scan
    default_quota = settings.DEFAULT_QUOTA
    # No thresholds (near-quota alerts off): nothing counts as nearly full.
    nearly_full = min(settings.NEAR_QUOTA_PERCENTS, default=101)
    failed = str(Operation.State.FAILED)
    rows = []
    for account in sorted(set(records) | set(known)):
        record = records.get(account)
        mounted = record is not None and record["mounted"]
        usage = usage_of(record["mount_point"]) if record and mounted else None
        owner, quota, created_at, suspended_at, last_state = known.get(
            account, (None, None, None, None, None)
        )
        rows.append(
            VolumeRow(
                account=account,
                owner=owner,
                size_bytes=record["size_bytes"] if record else 0,
                mounted=mounted,
                filesystem=record["filesystem"] if record else None,
                used_bytes=usage.used_bytes if usage else None,
                total_bytes=usage.total_bytes if usage else None,
                created_at=created_at,
                known_to_portal=account in known,
                on_server=record is not None,
                pending_destruction=suspended_at is not None,
                quota_gib=(quota or default_quota) if account in known else None,
                last_operation_failed=last_state == failed,
                backups=backups.get(account),
            )
        )
        percent = rows[-1].percent
        rows[-1].nearly_full = percent is not None and percent >= nearly_full
    return rows
