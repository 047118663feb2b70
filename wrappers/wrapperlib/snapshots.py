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
RETENTION_KINDS = ("frequent", "hourly", "daily", "weekly", "monthly")
# A policy written before snapshots came more often than hourly has no
# "frequent": it keeps none at the finer resolution.
OPTIONAL_KINDS = {"frequent": 0}
# Intervals that divide an hour, so every hour starts a slot.
INTERVALS = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)


def _int_setting(name, minimum):
    value = getattr(settings(), name)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise Refusal(f"the wrapper setting {name} must be a whole number >= {minimum}")
    return value


def protection_days() -> int:
    return _int_setting("SNAPSHOT_PROTECTION_DAYS", 0)


def interval_minutes() -> int:
    """How often the schedule takes snapshots (SNAPSHOT_INTERVAL_MINUTES)."""
    value = settings().SNAPSHOT_INTERVAL_MINUTES
    if not isinstance(value, int) or isinstance(value, bool) or value not in INTERVALS:
        raise Refusal(
            "the wrapper setting SNAPSHOT_INTERVAL_MINUTES must divide an hour: "
            + ", ".join(map(str, INTERVALS))
        )
    return value


def retention() -> dict[str, int]:
    policy = settings().SNAPSHOT_RETENTION
    if isinstance(policy, dict):
        policy = {**OPTIONAL_KINDS, **policy}
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
        # Sliced rather than strptime'd: retention parses every name of a
        # volume (hundreds at a 15-minute interval) for every volume, each run.
        return datetime(
            int(name[5:9]),
            int(name[10:12]),
            int(name[13:15]),
            int(name[16:18]),
            int(name[19:21]),
            int(name[22:24]),
            tzinfo=UTC,
        )
    except ValueError:
        return None  # well-formed digits but no such date (month 13)


def snapshot_name(text: str) -> str:
    """A snapshot-name argument: refused unless it is exactly one."""
    if taken_at(text) is None:
        raise Refusal(f"invalid snapshot name {text!r}: expected @GMT-YYYY.MM.DD-HH.MM.SS")
    return text


def _protection_end(when: datetime, days: int, interval: int, frequent: int) -> datetime:
    if when.minute < interval:
        return when + timedelta(days=days)
    return when + timedelta(minutes=interval * frequent)


def protected_until(name: str) -> datetime:
    """The first snapshot slot of each UTC hour (the run at hh:00 on the
    schedule; every snapshot when the interval is an hour) is protected for
    SNAPSHOT_PROTECTION_DAYS, as the hourly ones always were; the ones
    between for as long as retention keeps them at the finer resolution
    (SNAPSHOT_RETENTION["frequent"] intervals). The name alone decides, so
    no snapshot taken later (names come from the clock) can change it."""
    return _protection_end(
        taken_at(name), protection_days(), interval_minutes(), retention()["frequent"]
    )


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


def _bucket(kind, moment, interval):
    if kind == "frequent":
        return (moment.date(), moment.hour, moment.minute // interval)
    if kind == "hourly":
        return (moment.year, moment.month, moment.day, moment.hour)
    if kind == "daily":
        return moment.date()
    if kind == "weekly":
        return moment.isocalendar()[:2]
    return (moment.year, moment.month)


def _window_start(kind, count, moment, interval):
    if kind == "frequent":
        return moment - timedelta(minutes=interval * count)
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


class _Policy:
    """The settings the rules read, read and checked once per call: a volume
    at 15 minutes holds a few hundred snapshots, and the run covers them all."""

    def __init__(self):
        self.days = protection_days()
        self.interval = interval_minutes()
        self.retention = retention()

    def protected(self, when: datetime, moment: datetime) -> bool:
        return moment < _protection_end(when, self.days, self.interval, self.retention["frequent"])


def _dated(names):
    """[(taken_at, name)] of the snapshot names among names, oldest first."""
    return sorted((when, name) for name in names if (when := taken_at(name)) is not None)


def _kept_by(dated, moment: datetime, policy: _Policy) -> dict[str, set[str]]:
    """{kind: the snapshots that kind of retention keeps}: the newest one in
    each interval, hour, day, week and month of the policy's windows."""
    kept = {}
    for kind, count in policy.retention.items():
        newest_in_bucket = {}
        if count:
            start = _window_start(kind, count, moment, policy.interval)
            for when, name in dated:
                if when >= start:
                    newest_in_bucket[_bucket(kind, when, policy.interval)] = name
        kept[kind] = set(newest_in_bucket.values())
    return kept


def to_keep(names: list[str], moment: datetime) -> set[str]:
    """The snapshots retention keeps: every protected one, the newest one
    (the base the next change is measured against), and each kind's."""
    policy = _Policy()
    dated = _dated(names)
    keep = {name for when, name in dated if policy.protected(when, moment)}
    if dated:
        keep.add(dated[-1][1])
    for kept in _kept_by(dated, moment, policy).values():
        keep |= kept
    return keep


def low_space_order(names: list[str], moment: datetime) -> list[str]:
    """The unprotected snapshots that may go while space is short, in the
    order they go: those only the finest kind of retention keeps first
    (frequent, then hourly, daily, weekly), each kind's oldest first, and
    the monthly ones last, so the coarsest, rarest restore points (the only
    one of a month) outlive every finer one. Never the newest snapshot."""
    policy = _Policy()
    dated = _dated(names)
    kept = _kept_by(dated, moment, policy)

    def coarsest(name):
        kinds = [index for index, kind in enumerate(RETENTION_KINDS) if name in kept[kind]]
        # Kept by no kind (the newest alone, or a policy of zeros): finest.
        return max(kinds, default=-1)

    candidates = [name for when, name in dated[:-1] if not policy.protected(when, moment)]
    return sorted(candidates, key=lambda name: (coarsest(name), name))


def require_unprotected(name: str, moment: datetime) -> None:
    """The one gate in front of every deletion of a snapshot."""
    if taken_at(name) is None:
        raise Refusal(f"{name!r} is not a snapshot name; it is never deleted")
    if is_protected(name, moment):
        raise Refusal(f"snapshot {name} is protected until {iso(protected_until(name))}")
