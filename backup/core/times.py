"""Times as the wrappers write them and as the pages show them."""

import datetime

from django.utils.timesince import timesince
from django.utils.translation import gettext as _

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
    """The hover text: the exact time, in UTC, said so."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def ago(when: datetime.datetime, now: datetime.datetime) -> str:
    """'3 days ago' (Django's timesince, its largest unit only)."""
    if (now - when).total_seconds() < 60:
        return _("just now")
    # timesince joins number and unit with a no-break space; the emails and
    # the admin table's sorting want the plain text.
    return _("%(time)s ago") % {"time": timesince(when, now, depth=1).replace("\xa0", " ")}
