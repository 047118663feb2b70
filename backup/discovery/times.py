"""Times as the wrappers write them and as the pages show them."""

import datetime

from backup.pages.times import absolute_time, relative_time

UTC = datetime.UTC
WIRE_TIME = "%Y-%m-%dT%H:%M:%SZ"  # the wrappers' times (wrappers/README.md)


def parse_time(value: object) -> datetime.datetime | None:
    """A wrapper's UTC time, or None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.datetime.strptime(value, WIRE_TIME).replace(tzinfo=UTC)
    except ValueError:
        return None


def iso(when: datetime.datetime) -> str:
    return when.astimezone(UTC).strftime(WIRE_TIME)


def exact(when: datetime.datetime) -> str:
    """The hover text: the exact time in the reader's zone, said so."""
    return absolute_time(when)


def ago(when: datetime.datetime, now: datetime.datetime) -> str:
    """'3 days ago' (its largest unit only)."""
    return relative_time(when, now)
