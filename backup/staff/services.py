"""What admins see: the pool and every volume, from two privileged calls
whatever the number of volumes (usage is read with statvfs, unprivileged),
and the table's filters, search and sort orders over all of them."""

import datetime
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from typing import Any

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.utils.formats import number_format
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backup.discovery import staff as backup_column
from backup.discovery.staff import VolumeBackups
from backup.operations.models import Operation
from backup.privileged import commands
from backup.privileged.results import VolumeRecord
from backup.sso.names import require_ascii
from backup.stats.units import binary_size
from backup.volumes.models import Volume
from backup.volumes.status import usage_of


@dataclass
class VolumeRow:
    account: str
    # The person whose volume it is; None for a volume the portal did not make.
    owner: str | None
    size_bytes: int
    mounted: bool
    filesystem: str | None
    # Read from the mounted filesystem (statvfs); None when not mounted.
    used_bytes: int | None
    total_bytes: int | None
    created_at: datetime.datetime | None
    known_to_portal: bool
    on_server: bool
    pending_destruction: bool
    # The most the owner's volume may grow to, in GiB (None: no owner).
    quota_gib: int | None
    # The last operation on the volume failed (the audit log says why).
    last_operation_failed: bool
    # What the last backup scan found; None when never scanned.
    backups: VolumeBackups | None = None
    # Past the lowest of NEAR_QUOTA_PERCENTS (when the inventory was taken):
    # its owner has been warned.
    nearly_full: bool = False

    @property
    def percent(self) -> int | None:
        if self.used_bytes is None or not self.total_bytes:
            return None
        return round(100 * self.used_bytes / self.total_bytes)

    @property
    def failing(self) -> bool:
        """Something an admin must fix: gone from the server, not mounted
        (unless deleted and waiting for destruction), unknown to the
        portal, or its last operation failed."""
        return (
            not self.on_server
            or not self.known_to_portal
            or (not self.mounted and not self.pending_destruction)
            or self.last_operation_failed
        )

    def to_record(self) -> list:
        """The row as a JSON list, in the order of its fields."""
        record = [getattr(self, name) for name in ROW_FIELDS]
        record[CREATED] = self.created_at.timestamp() if self.created_at else None
        record[BACKUPS] = backup_column.to_json(self.backups)
        return record

    @classmethod
    def from_record(cls, record: list) -> "VolumeRow":
        row = cls(*record)
        created = record[CREATED]
        row.created_at = (
            None if created is None else datetime.datetime.fromtimestamp(created, datetime.UTC)
        )
        row.backups = backup_column.from_json(record[BACKUPS])
        return row


ROW_FIELDS = [field.name for field in fields(VolumeRow)]
ACCOUNT, OWNER, CREATED, BACKUPS = (
    ROW_FIELDS.index(name) for name in ("account", "owner", "created_at", "backups")
)


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
    def allocated_percent(self) -> int:
        return round(100 * self.allocated_bytes / self.size_bytes) if self.size_bytes else 0

    @property
    def used_percent(self) -> int:
        return round(100 * self.used_bytes / self.size_bytes) if self.size_bytes else 0

    @property
    def overcommit(self) -> float | None:
        """Allocated space per byte actually used (None when nothing is used)."""
        return self.allocated_bytes / self.used_bytes if self.used_bytes else None

    def overcommit_sentence(self) -> str:
        """The overcommit as an admin reads it at a glance."""
        shares = {
            "allocated": _share(self.allocated_bytes, self.size_bytes),
            "used": _share(self.used_bytes, self.size_bytes),
        }
        if not self.allocated_bytes:
            return _("No space is given to volumes yet.")
        if not self.used_bytes:
            return (
                _(
                    "Nothing is written yet: volumes are given %(allocated)s of the pool "
                    "and use none of it."
                )
                % shares
            )
        ratio = self.overcommit
        if ratio is None or ratio < 1.05:
            return (
                _(
                    "Volumes use about all the space they are given (%(allocated)s of the "
                    "pool is given to volumes, %(used)s is used)."
                )
                % shares
            )
        times = number_format(round(ratio), 0) if ratio >= 10 else number_format(ratio, 1)
        promised = _(
            "Volumes are promised %(times)s times the space they use (%(allocated)s of "
            "the pool is given to volumes, %(used)s is used)."
        ) % {"times": times, **shares}
        return f"{promised} {self.if_all_filled_up()}"

    def if_all_filled_up(self) -> str:
        """What happens if every volume fills up, in words an admin acts on."""
        sizes = {
            "allocated": binary_size(self.allocated_bytes),
            "size": binary_size(self.size_bytes),
            "missing": binary_size(max(0, self.allocated_bytes - self.size_bytes)),
            "free": binary_size(self.free_bytes),
        }
        if self.allocated_bytes <= self.size_bytes:
            return (
                _(
                    "If every volume filled up, they would still fit: they need "
                    "%(allocated)s and the pool holds %(size)s."
                )
                % sizes
            )
        return (
            _(
                "If every volume filled up, they would need %(allocated)s, %(missing)s more "
                "than the pool's %(size)s: writes start failing once another %(free)s is "
                "written, so add disk before the pool's use gets there."
            )
            % sizes
        )

    def figures(self) -> dict[str, str]:
        """The pool's sizes as the page shows them (GiB, like volume sizes)."""
        return {
            "size": binary_size(self.size_bytes),
            "allocated": binary_size(self.allocated_bytes),
            "used": binary_size(self.used_bytes),
            "free": binary_size(self.free_bytes),
        }


def _share(part: int, whole: int) -> str:
    """A percentage, with a decimal when it is small: 1.2 %, 92 %."""
    if not whole:
        return "0\u00a0%"
    percent = 100 * part / whole
    digits = 1 if percent < 10 else 0
    return f"{number_format(round(percent, digits), digits)}\u00a0%"


# --- Taking the inventory ---------------------------------------------------


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


# --- Filters, search and sort orders over the whole inventory --------------


@dataclass(frozen=True)
class Filter:
    label: str | Promise
    keeps: Callable[[VolumeRow], bool]


# What the table shows (?show=); the page opens on what needs attention.
FILTERS: dict[str, Filter] = {
    "attention": Filter(
        gettext_lazy("Needs attention"),
        lambda row: (
            row.failing
            or row.nearly_full
            or row.pending_destruction
            or backup_column.is_stale(row.backups)
        ),
    ),
    "stale": Filter(gettext_lazy("Stale backups"), lambda row: backup_column.is_stale(row.backups)),
    "full": Filter(gettext_lazy("Nearly full"), lambda row: row.nearly_full),
    "failing": Filter(gettext_lazy("Problems"), lambda row: row.failing),
    "never": Filter(
        gettext_lazy("Never used"), lambda row: backup_column.is_never_used(row.backups)
    ),
    "all": Filter(gettext_lazy("All"), lambda row: True),
}
DEFAULT_FILTER = "attention"


def _newest_backup(row: VolumeRow) -> float:
    newest = row.backups.newest_backup if row.backups else None
    return newest.timestamp() if newest else 0


# Each sort order, and the account after it so that equal values keep one order.
def _by(key: Callable[[VolumeRow], Any], rows: list[VolumeRow]) -> Callable[[int], Any]:
    """The sort key of a row number (a closure per sort order)."""
    return lambda number: key(rows[number])


SORT_KEYS: dict[str, Callable[[VolumeRow], Any]] = {
    "user": lambda row: row.account,
    "size": lambda row: (row.size_bytes, row.account),
    "quota": lambda row: (row.quota_gib or 0, row.account),
    "used": lambda row: (row.used_bytes or 0, row.account),
    "percent": lambda row: (row.percent or 0, row.account),
    "mounted": lambda row: (row.mounted, row.account),
    "created": lambda row: (row.created_at.timestamp() if row.created_at else 0, row.account),
    "backup": lambda row: (_newest_backup(row), row.account),
}
DEFAULT_SORT = "user"


class Inventory:
    """The pool and every volume at one moment, with the work every page
    view would otherwise repeat done once, when it is taken: each filter's
    rows and each sort order. The rows are kept as JSON lists (``records``);
    a page view makes VolumeRows of the rows it shows only."""

    def __init__(self, taken_at, pool, records, members, orders):
        self.taken_at = datetime.datetime.fromtimestamp(taken_at, datetime.UTC)
        self.pool = pool
        self.records = records
        self.total = len(records)
        self.counts = {key: len(kept) for key, kept in members.items()}
        self._members = {key: set(kept) for key, kept in members.items()}
        # Ascending orders (row numbers); descending is the same reversed.
        self._orders = orders
        self._selections: dict[tuple[str, str, bool], list[int]] = {}

    @classmethod
    def of(cls, taken_at: float, pool: Pool, rows: list[VolumeRow]) -> "Inventory":
        numbers = range(len(rows))
        return cls(
            taken_at,
            pool,
            [row.to_record() for row in rows],
            {
                key: [number for number in numbers if choice.keeps(rows[number])]
                for key, choice in FILTERS.items()
            },
            {sort: sorted(numbers, key=_by(key, rows)) for sort, key in SORT_KEYS.items()},
        )

    def select(self, show: str, search: str, sort: str, descending: bool) -> "Rows":
        """The rows a filter and a name search keep, in the order asked for;
        the sort comes first, so pages follow one order across the whole
        inventory. Without a search, the answer is kept for the next view."""
        key = (show, sort, descending)
        if key not in self._selections:
            members = self._members[show]
            order = self._orders[sort]
            self._selections[key] = [
                number for number in (reversed(order) if descending else order) if number in members
            ]
        numbers = self._selections[key]
        if search:
            # The form refused anything but ASCII: lower() must not fold a
            # look-alike (KELVIN SIGN) onto an account's letters.
            search = require_ascii(search).lower()
            numbers = [n for n in numbers if search in self.records[n][ACCOUNT].lower()]
        return Rows(self.records, numbers)

    def person_named(self, name: str) -> str | None:
        """The one person whose account or sign-in name is exactly name (as
        typed, any case), or None: a search for a whole name goes straight
        to their page."""
        wanted = name.lower()
        found = {
            record[OWNER] or record[ACCOUNT]
            for record in self.records
            if wanted in (record[ACCOUNT].lower(), (record[OWNER] or "").lower())
        }
        return found.pop() if len(found) == 1 else None

    def to_json(self) -> dict:
        return {
            "taken_at": self.taken_at.timestamp(),
            "pool": asdict(self.pool),
            "records": self.records,
            "members": {key: sorted(kept) for key, kept in self._members.items()},
            "orders": self._orders,
        }

    @classmethod
    def from_json(cls, data: dict) -> "Inventory":
        return cls(
            data["taken_at"], Pool(**data["pool"]), data["records"], data["members"], data["orders"]
        )


class Rows(Sequence):
    """Some of an inventory's rows, in order; VolumeRows are made only for
    the ones read (a page of them)."""

    def __init__(self, records: list[list], numbers: list[int]):
        self._records = records
        self._numbers = numbers

    def __len__(self) -> int:
        return len(self._numbers)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [VolumeRow.from_record(self._records[n]) for n in self._numbers[index]]
        return VolumeRow.from_record(self._records[self._numbers[index]])
