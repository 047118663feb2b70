"""The audit log as CSV: exactly the filtered records, streamed row by row,
bounded, and safe to open in a spreadsheet."""

import csv
import json
from collections.abc import Iterator

from django.db.models import QuerySet

from backup.operations.models import Operation

# More records than this are refused (narrow the filter): the export is one
# request, and it must not be able to occupy a worker without end.
EXPORT_LIMIT = 100_000

# A spreadsheet takes a cell starting with one of these as a formula (OWASP
# "CSV injection"); names, messages and details may come from users.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Column names are identifiers for whoever processes the file, so they stay
# the same whatever the page's language.
COLUMNS = (
    ("id", "pk"),
    ("requested_at", "requested_at"),
    ("started_at", "started_at"),
    ("finished_at", "finished_at"),
    ("by", "actor_name"),
    ("for", "owner_name"),
    ("kind", "kind"),
    ("operation", None),
    ("outcome", "state"),
    ("message", "message"),
    ("detail", "detail"),
    ("parameters", "parameters"),
)
FIELDS = [field for _, field in COLUMNS if field]
KIND_LABELS = dict(Operation.Kind.choices)


def spreadsheet_safe(value: str) -> str:
    """``value`` with a leading apostrophe when a spreadsheet would run it."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _cells(record: dict) -> list[str]:
    cells = []
    for _, field in COLUMNS:
        if field is None:
            value = str(KIND_LABELS.get(record["kind"], record["kind"]))
        else:
            value = record[field]
        if value is None:
            value = ""
        elif field == "parameters":
            value = json.dumps(value, sort_keys=True, ensure_ascii=False)
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        cells.append(spreadsheet_safe(str(value)))
    return cells


class _Line:
    """A file-like object whose write returns the line (Django's streaming CSV recipe)."""

    def write(self, line: str) -> str:
        return line


def csv_lines(operations: QuerySet) -> Iterator[str]:
    """The header, then one CSV line per operation, read in chunks. The
    byte order mark makes spreadsheets read the file as UTF-8."""
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow([name for name, _ in COLUMNS])
    for record in operations.values(*FIELDS).iterator(chunk_size=1000):
        yield writer.writerow(_cells(record))
