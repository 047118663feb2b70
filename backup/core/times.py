"""The one place times become text for people: an absolute time in the
active zone with its abbreviation ("Dec. 7, 2026, 5:02 p.m. EET"), and a
relative one ("3 hours ago"); and the wrappers' own time format. Templates reach them through the
``absolute_time``/``relative_time`` filters (templatetags/times.py); Python
sentences call them directly. Machine formats (CSV, JSON, /metrics, logs)
stay ISO UTC and never come here."""

import datetime

from django.utils import formats, timezone
from django.utils.dateformat import format as date_format
from django.utils.timesince import timesince
from django.utils.translation import get_language
from django.utils.translation import gettext as _

# Django's locales have no date-and-time format with seconds; the time part
# with seconds, per language (the rest of the format is the locale's).
_TIME_WITH_SECONDS = {"fi": "G.i.s"}
_DEFAULT_TIME_WITH_SECONDS = "g:i:s a"


def _local(when: datetime.datetime) -> datetime.datetime:
    if timezone.is_naive(when):
        when = timezone.make_aware(when, datetime.UTC)
    return timezone.localtime(when)


def absolute_time(when: datetime.datetime | None, seconds: bool = False) -> str:
    """``when`` in the active time zone, in the active language's date and
    time format, with the zone's abbreviation; with seconds when asked (two
    times within one minute must be told apart)."""
    if not isinstance(when, datetime.datetime):  # None, or "" for a missing one
        return ""
    local = _local(when)
    if seconds:
        language = (get_language() or "en").split("-")[0]
        time_part = _TIME_WITH_SECONDS.get(language, _DEFAULT_TIME_WITH_SECONDS)
        text = date_format(local, f"{formats.get_format('DATE_FORMAT')}, {time_part}")
    else:
        text = formats.date_format(local, "DATETIME_FORMAT")
    return f"{text} {local.tzname()}"


def absolute_date(when: datetime.datetime | None) -> str:
    """The day of ``when`` in the active zone (where the time would be noise)."""
    if not isinstance(when, datetime.datetime):  # None, or "" for a missing one
        return ""
    return formats.date_format(_local(when), "DATE_FORMAT")


def relative_time(when: datetime.datetime | None, now: datetime.datetime | None = None) -> str:
    """'3 hours ago' (its largest unit), 'just now' under a minute, 'in 3
    days' for a time to come."""
    if not isinstance(when, datetime.datetime):
        return ""
    now = now or timezone.now()
    if abs((now - when).total_seconds()) < 60:
        return _("just now")
    # timesince joins number and unit with a no-break space; emails and the
    # admin table's sorting want the plain text.
    if when > now:
        return _("in %(time)s") % {"time": timesince(now, when, depth=1).replace("\xa0", " ")}
    return _("%(time)s ago") % {"time": timesince(when, now, depth=1).replace("\xa0", " ")}


def file_name_time(when: datetime.datetime) -> str:
    """``when`` for a file or folder name, in the active zone: sortable, and
    without the ":" Windows refuses ("2026-12-07 17.02 EET")."""
    local = _local(when)
    return f"{local:%Y-%m-%d %H.%M} {local.tzname()}"


def machine_time(when: datetime.datetime | None) -> str:
    """ISO 8601 in UTC ("2026-12-07T15:03:00Z"): for <time datetime>, never shown."""
    if not isinstance(when, datetime.datetime):  # None, or "" for a missing one
        return ""
    return _local(when).astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# The wrappers' times (wrappers/README.md): UTC, to the second.
UTC = datetime.UTC
WIRE_TIME = "%Y-%m-%dT%H:%M:%SZ"


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
