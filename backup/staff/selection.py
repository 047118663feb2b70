"""The admin table's filters, name search and sort orders, over the whole
inventory, in memory.

Why not the database's filter() and order_by(): a row is not a database
row. It joins the wrappers' inventory (size, mounted, filesystem; volumes
on the server that the portal never made, which have no row at all) with
statvfs usage and the database, so "Problems", "Nearly full", or a sort
by space used can only be answered after the join. The work is done once,
when the inventory is taken (Inventory.of), and kept with it in the cache;
a page view only picks row numbers.
"""

import datetime
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from backup.discovery import staff as backup_column
from backup.sso.names import require_ascii

from .pool import Pool
from .records import ACCOUNT, OWNER, from_record, to_record
from .rows import VolumeRow


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
            [to_record(row) for row in rows],
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
            return [from_record(self._records[n]) for n in self._numbers[index]]
        return from_record(self._records[self._numbers[index]])
