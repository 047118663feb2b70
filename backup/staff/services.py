"""What admins see: the pool and every volume, from two privileged calls
whatever the number of volumes (usage is read with statvfs, unprivileged)."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from backup.discovery.staff import VolumeBackups, volume_backups
from backup.privileged import commands
from backup.volumes.models import Volume
from backup.volumes.status import Usage, usage_of


@dataclass
class VolumeRow:
    account: str
    size_bytes: int
    mounted: bool
    filesystem: str | None
    usage: Usage | None
    created_at: datetime | None
    known_to_portal: bool
    on_server: bool
    # What the last backup scan found; None when never scanned.
    backups: VolumeBackups | None = None

    @property
    def used_bytes(self):
        return self.usage.used_bytes if self.usage else None

    @property
    def percent(self):
        return self.usage.percent if self.usage else None


@dataclass
class Pool:
    backend: str
    name: str
    size_bytes: int
    allocated_bytes: int
    used_bytes: int
    free_bytes: int
    volume_count: int

    @property
    def allocated_percent(self):
        return round(100 * self.allocated_bytes / self.size_bytes) if self.size_bytes else 0

    @property
    def used_percent(self):
        return round(100 * self.used_bytes / self.size_bytes) if self.size_bytes else 0

    @property
    def overcommit(self):
        """Allocated space per byte actually used (None when nothing is used)."""
        return round(self.allocated_bytes / self.used_bytes, 1) if self.used_bytes else None


SORT_KEYS = {
    "user": lambda row: row.account,
    "size": lambda row: row.size_bytes,
    "used": lambda row: row.used_bytes or 0,
    "percent": lambda row: row.percent or 0,
    "mounted": lambda row: row.mounted,
    "created": lambda row: row.created_at.timestamp() if row.created_at else 0,
    "backup": lambda row: (
        row.backups.newest_backup.timestamp() if row.backups and row.backups.newest_backup else 0
    ),
}


def pool():
    data = commands.pool()
    return Pool(
        backend=data.get("backend", ""),
        name=data.get("name", ""),
        size_bytes=int(data["size_bytes"]),
        allocated_bytes=int(data["allocated_bytes"]),
        used_bytes=int(data.get("used_bytes", 0)),
        free_bytes=int(data["free_bytes"]),
        volume_count=int(data.get("volume_count", 0)),
    )


def pool_and_volume_rows(sort="user", descending=False):
    """The pool and every volume; the two privileged queries run side by side."""
    with ThreadPoolExecutor(max_workers=2) as executor:
        pool_future = executor.submit(pool)
        inventory_future = executor.submit(commands.inventory)
        return pool_future.result(), volume_rows(inventory_future.result(), sort, descending)


def volume_rows(inventory, sort="user", descending=False):
    records = {record["user"]: record for record in inventory}
    created = dict(Volume.objects.values_list("account", "created_at"))
    backups = volume_backups()  # one query for every volume's scan
    rows = []
    for account in sorted(set(records) | set(created)):
        record = records.get(account)
        mounted = bool(record and record.get("mounted"))
        rows.append(
            VolumeRow(
                account=account,
                size_bytes=int(record["size_bytes"]) if record else 0,
                mounted=mounted,
                filesystem=record.get("filesystem") if record else None,
                usage=usage_of(record["mount_point"]) if mounted else None,
                created_at=created.get(account),
                known_to_portal=account in created,
                on_server=record is not None,
                backups=backups.get(account),
            )
        )
    rows.sort(key=SORT_KEYS.get(sort, SORT_KEYS["user"]), reverse=descending)
    return rows
