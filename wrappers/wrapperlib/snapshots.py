"""Snapshot names, the clock, protection and retention: the rules, no I/O.

A snapshot's name is its time, UTC, in Samba shadow_copy2's default format
(``@GMT-YYYY.MM.DD-HH.MM.SS``): the name is the only record of when it was
taken, so nothing a user can touch (file times, xattrs) moves it.
"""

import re
from datetime import UTC, datetime, timedelta

from .config import settings
from .errors import Refusal

NAME_FORMAT = "@GMT-%Y.%m.%d-%H.%M.%S"
NAME_PATTERN = re.compile(r"@GMT-[0-9]{4}\.[0-9]{2}\.[0-9]{2}-[0-9]{2}\.[0-9]{2}\.[0-9]{2}")
ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
ISO_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
RETENTION_KINDS = ("hourly", "daily", "weekly", "monthly")


def _int_setting(name, minimum):
    value = getattr(settings(), name)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise Refusal(f"the wrapper setting {name} must be a whole number >= {minimum}")
    return value


def protection_days() -> int:
    return _int_setting("SNAPSHOT_PROTECTION_DAYS", 0)


def retention() -> dict[str, int]:
    policy = settings().SNAPSHOT_RETENTION
    if not isinstance(policy, dict) or set(policy) != set(RETENTION_KINDS):
        raise Refusal(
            f"the wrapper setting SNAPSHOT_RETENTION must set {', '.join(RETENTION_KINDS)}"
        )
    for kind, count in policy.items():
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise Refusal(f"SNAPSHOT_RETENTION[{kind!r}] must be a whole number >= 0")
    return dict(policy)


def now() -> datetime:
    """The time, to the second; SNAPSHOT_CLOCK (root's setting, tests only)
    stands in for the clock when set."""
    fixed = settings().SNAPSHOT_CLOCK
    if fixed is None:
        return datetime.now(UTC).replace(microsecond=0)
    if not isinstance(fixed, str) or not ISO_PATTERN.fullmatch(fixed):
        raise Refusal("the wrapper setting SNAPSHOT_CLOCK must be None or YYYY-MM-DDTHH:MM:SSZ")
    return datetime.strptime(fixed, ISO_FORMAT).replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.strftime(ISO_FORMAT)


def name_for(moment: datetime) -> str:
    return moment.strftime(NAME_FORMAT)


def taken_at(name: str) -> datetime | None:
    """When the snapshot called name was taken; None when name is not one."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        return None
    try:
        return datetime.strptime(name, NAME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None  # well-formed digits but no such date (month 13)


def snapshot_name(text: str) -> str:
    """A snapshot-name argument: refused unless it is exactly one."""
    if taken_at(text) is None:
        raise Refusal(f"invalid snapshot name {text!r}: expected @GMT-YYYY.MM.DD-HH.MM.SS")
    return text


def protected_until(name: str) -> datetime:
    return taken_at(name) + timedelta(days=protection_days())


def is_protected(name: str, moment: datetime) -> bool:
    return moment < protected_until(name)


def describe(name: str, moment: datetime) -> dict:
    return {
        "name": name,
        "taken_at": iso(taken_at(name)),
        "protected_until": iso(protected_until(name)),
        "protected": is_protected(name, moment),
        "exclusive_bytes": None,
    }


def _bucket(kind, moment):
    if kind == "hourly":
        return (moment.year, moment.month, moment.day, moment.hour)
    if kind == "daily":
        return moment.date()
    if kind == "weekly":
        return moment.isocalendar()[:2]
    return (moment.year, moment.month)


def _window_start(kind, count, moment):
    if kind == "hourly":
        return moment - timedelta(hours=count)
    if kind == "daily":
        return moment - timedelta(days=count)
    if kind == "weekly":
        return moment - timedelta(weeks=count)
    # The current month and the count - 1 before it.
    months = moment.year * 12 + moment.month - count
    return moment.replace(
        year=months // 12, month=months % 12 + 1, day=1, hour=0, minute=0, second=0
    )


def to_keep(names: list[str], moment: datetime) -> set[str]:
    """The snapshots retention keeps: every protected one, the newest one
    (the base the next change is measured against), and the newest one in
    each hour, day, week and month of the policy's windows."""
    dated = sorted((taken_at(name), name) for name in names if taken_at(name) is not None)
    keep = {name for _, name in dated if is_protected(name, moment)}
    if dated:
        keep.add(dated[-1][1])
    for kind, count in retention().items():
        if count == 0:
            continue
        start = _window_start(kind, count, moment)
        newest_in_bucket = {}
        for when, name in dated:
            if when >= start:
                newest_in_bucket[_bucket(kind, when)] = name
        keep |= set(newest_in_bucket.values())
    return keep


def require_unprotected(name: str, moment: datetime) -> None:
    """The one gate in front of every deletion of a snapshot."""
    if taken_at(name) is None:
        raise Refusal(f"{name!r} is not a snapshot name; it is never deleted")
    if is_protected(name, moment):
        raise Refusal(f"snapshot {name} is protected until {iso(protected_until(name))}")
