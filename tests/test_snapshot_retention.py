"""Snapshot retention, protection and the low-space order at a 15-minute
interval: the wrappers' rules (wrapperlib/snapshots.py, no I/O) over
simulated weeks. snapshot-create.py and snapshot-prune.py apply exactly
these (test_snapshot_wrappers.py runs them on real btrfs)."""

import sys
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "wrappers"))

from wrapperlib import config, snapshots
from wrapperlib.errors import Refusal

POLICY = {"frequent": 16, "hourly": 24, "daily": 14, "weekly": 8, "monthly": 12}


def rules(**overrides):
    values = {
        "SNAPSHOT_INTERVAL_MINUTES": 15,
        "SNAPSHOT_PROTECTION_DAYS": 14,
        "SNAPSHOT_RETENTION": POLICY,
        **overrides,
    }
    return types.SimpleNamespace(**values)


@pytest.fixture(autouse=True)
def fixed_settings():
    saved = config._settings
    config._settings = rules()
    try:
        yield
    finally:
        config._settings = saved


def at(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M").replace(tzinfo=UTC)


def every(minutes, start, end):
    """The names a schedule every `minutes` takes from start to end."""
    moment, names = at(start), []
    while moment <= at(end):
        names.append(snapshots.name_for(moment))
        moment += timedelta(minutes=minutes)
    return names


def run_schedule(start, end, minutes=15):
    """Take and prune as the scheduled run does, every `minutes`: what is left."""
    moment, existing = at(start), []
    while moment <= at(end):
        existing.append(snapshots.name_for(moment))
        keep = snapshots.to_keep(existing, moment)
        existing = [name for name in existing if name in keep]
        moment += timedelta(minutes=minutes)
    return existing


def test_the_last_four_hours_are_kept_at_15_minutes_and_then_hourly():
    left = run_schedule("2026-11-02T00:00", "2026-11-03T12:00")
    now = at("2026-11-03T12:00")
    recent = [name for name in left if snapshots.taken_at(name) > now - timedelta(hours=4)]
    # Every 15-minute snapshot of the last four hours (16 intervals).
    assert recent == every(15, "2026-11-03T08:15", "2026-11-03T12:00")
    older = [name for name in left if snapshots.taken_at(name) <= now - timedelta(hours=4)]
    # Before that one an hour: the protected first of each hour, plus
    # hourly retention's newest of each hour in the last 24.
    assert {snapshots.taken_at(name).minute for name in older} <= {0, 45}
    firsts = [name for name in older if snapshots.taken_at(name).minute == 0]
    assert firsts == every(60, "2026-11-02T00:00", "2026-11-03T08:00")


def test_only_the_first_slot_of_an_hour_is_protected_for_the_protection_days():
    now = at("2026-11-03T12:00")
    assert snapshots.is_protected("@GMT-2026.11.01-09.00.00", now)
    assert snapshots.is_protected("@GMT-2026.11.01-09.14.59", now)  # a late :00 run
    assert not snapshots.is_protected("@GMT-2026.11.01-09.15.00", now)
    assert snapshots.protected_until("@GMT-2026.11.03-11.30.00") == at("2026-11-03T15:30")
    assert snapshots.is_protected("@GMT-2026.11.03-11.30.00", now)
    # Hourly, as before 15 minutes: every snapshot is protected 14 days.
    config._settings = rules(SNAPSHOT_INTERVAL_MINUTES=60)
    assert snapshots.protected_until("@GMT-2026.11.01-09.45.00") == at("2026-11-15T09:45")


def test_a_policy_without_frequent_keeps_working_and_bad_settings_are_refused():
    config._settings = rules(
        SNAPSHOT_RETENTION={k: v for k, v in POLICY.items() if k != "frequent"}
    )
    assert snapshots.retention()["frequent"] == 0
    for bad in (7, 0, 90, "15", True, None):
        config._settings = rules(SNAPSHOT_INTERVAL_MINUTES=bad)
        with pytest.raises(Refusal, match="SNAPSHOT_INTERVAL_MINUTES must divide an hour"):
            snapshots.interval_minutes()
    config._settings = rules(SNAPSHOT_RETENTION={**POLICY, "minutely": 3})
    with pytest.raises(Refusal, match="must set frequent, hourly"):
        snapshots.retention()


def test_low_space_never_takes_a_monthly_one_before_the_newest_frequent_ones():
    """The issue's case: 31 unprotected snapshots, the only November one
    among them; free space short. Every frequent and hourly one goes before
    any daily, weekly or monthly representative, the monthly ones last."""
    names = [
        "@GMT-2026.11.20-09.00.00",  # the only November one: monthly keeps it
        *every(7 * 24 * 60, "2026-12-07T09:00", "2026-12-14T09:00"),  # weekly
        *every(24 * 60, "2026-12-22T09:00", "2026-12-27T09:00"),  # daily
        *every(60, "2027-01-04T01:00", "2027-01-04T08:00"),  # hourly
        *every(15, "2027-01-04T08:15", "2027-01-04T10:00"),  # frequent
    ]
    now = at("2027-01-04T10:00")
    config._settings = rules(SNAPSHOT_PROTECTION_DAYS=0)
    assert snapshots.to_keep(names, now) == set(names)  # retention keeps them all
    order = snapshots.low_space_order(names, now)
    # Never the newest, nor the protected ones between the last four hours'
    # first slots (08:15 to 09:45 but 09:00).
    protected = {name for name in names if snapshots.is_protected(name, now)}
    assert len(protected) == 6
    assert set(order) == set(names) - protected - {"@GMT-2027.01.04-10.00.00"}
    # The monthly ones (November's only one, December's newest) last.
    assert order[-2:] == ["@GMT-2026.11.20-09.00.00", "@GMT-2026.12.27-09.00.00"]
    kinds = [_coarsest(name, names, now) for name in order]
    assert kinds == sorted(kinds), "a coarser restore point went before a finer one"
    # First the ones only the 15-minute resolution keeps (each hour's
    # newest stays for hourly retention), then the hours, oldest first.
    assert order[:3] == [
        "@GMT-2027.01.04-08.00.00",
        "@GMT-2027.01.04-09.00.00",
        "@GMT-2027.01.04-01.00.00",
    ]


def _coarsest(name, names, now):
    kept = snapshots._kept_by(snapshots._dated(names), now, snapshots._Policy())
    return max(
        (i for i, kind in enumerate(snapshots.RETENTION_KINDS) if name in kept[kind]), default=-1
    )


def test_low_space_never_offers_a_protected_snapshot():
    names = every(15, "2026-11-03T08:00", "2026-11-03T12:00")
    order = snapshots.low_space_order(names, at("2026-11-03T12:00"))
    # Within the four-hour frequent window everything is protected.
    assert order == []


def test_snapshots_a_volume_holds_at_15_minutes_in_the_steady_state():
    """What the benchmark assumes per volume: 14 days of hourly protected
    snapshots (as before), the frequent window, and retention's others."""
    left = run_schedule("2026-10-30T00:00", "2026-11-15T00:00")
    assert 14 * 24 <= len(left) <= 14 * 24 + 16 + 24 + 14 + 8 + 12


def test_the_schedule_the_settings_and_the_wrappers_agree_on_15_minutes(settings):
    """cron's line, the systemd timer, the portal's mirror and root's
    setting: one interval, each run in its own slot, the :05 one first in
    its hour (so it is the one protected for the protection days)."""
    import importlib.util
    import re

    repo = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location(
        "defaults", repo / "wrappers" / "wrappers_settings.py"
    )
    defaults = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(defaults)
    assert defaults.SNAPSHOT_INTERVAL_MINUTES == settings.SNAPSHOT_INTERVAL_MINUTES == 15
    assert defaults.SNAPSHOT_RETENTION == settings.SNAPSHOT_RETENTION
    crontab = (repo / "deploy" / "crontab.example").read_text()
    (line,) = [line for line in crontab.splitlines() if "take_snapshots" in line]
    assert line.split()[:5] == ["5-59/15", "*", "*", "*", "*"]
    timer = (repo / "deploy" / "systemd" / "backupmanagement-take-snapshots.timer").read_text()
    assert re.search(r"^OnCalendar=\*:05/15$", timer, re.M)
    runs = [at(f"2026-11-03T10:{minute:02d}") for minute in range(5, 60, 15)]
    slots = {run.minute // snapshots.interval_minutes() for run in runs}
    assert len(slots) == len(runs) == 60 // snapshots.interval_minutes()
    assert [snapshots.protected_until(snapshots.name_for(run)) - run for run in runs] == [
        timedelta(days=14),
        *[timedelta(hours=4)] * 3,
    ]
