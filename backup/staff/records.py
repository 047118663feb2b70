"""The JSON form of a volume row: a list in the order of VolumeRow's
fields, which is how the inventory is kept in the cache between page views
(a list is far smaller and quicker to load than a dict per row)."""

import datetime
from dataclasses import fields

from backup.discovery import staff as backup_column

from .rows import VolumeRow

ROW_FIELDS = [field.name for field in fields(VolumeRow)]
ACCOUNT, OWNER, CREATED, BACKUPS = (
    ROW_FIELDS.index(name) for name in ("account", "owner", "created_at", "backups")
)


def to_record(row: VolumeRow) -> list:
    """The row as a JSON list, in the order of its fields."""
    record = [getattr(row, name) for name in ROW_FIELDS]
    record[CREATED] = row.created_at.timestamp() if row.created_at else None
    record[BACKUPS] = backup_column.to_json(row.backups)
    return record


def from_record(record: list) -> VolumeRow:
    row = VolumeRow(*record)
    created = record[CREATED]
    row.created_at = (
        None if created is None else datetime.datetime.fromtimestamp(created, datetime.UTC)
    )
    row.backups = backup_column.from_json(record[BACKUPS])
    return row
