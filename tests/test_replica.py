"""The replica server on this machine: the session's wrappers are the
primary, a second install with its own btrfs pool is the replica, a private
sshd on a loopback port carries the pull. New snapshots only, incremental;
a transfer killed half-way is deleted and done again, never counted;
retention and protection are the replica's own, over simulated time;
promote gives back the newest snapshot's files when the primary is gone."""

import os
import subprocess

import pytest

from support import replica
from support import snapshots as snap
from support.storage import mount_point, ok

pytestmark = pytest.mark.root
MIB = 1 << 20
T0 = "2026-03-02T00:00:00Z"


def at(hours=0, days=0):
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 3, 2, tzinfo=UTC)
    return (start + timedelta(hours=hours, days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def name_at(when):
    return "@GMT-" + when[:10].replace("-", ".") + "-" + when[11:19].replace(":", ".")


@pytest.fixture(scope="module")
def two(wrappers):
    with replica.servers(wrappers) as servers:
        yield servers


@pytest.fixture
def volume(wrappers):
    with snap.volume(wrappers) as entry:
        yield entry


def take(servers, entry, when, files=None):
    """Write files (name: bytes) into the volume as its owner, then the
    primary's snapshot at when; its name."""
    for name, data in (files or {}).items():
        snap.write_as(entry, mount_point(servers.primary, entry.pw_name) / name, data)
    with snap.clock(servers.primary, when):
        result = ok(servers.primary, "snapshot-create.py", entry.pw_name)
    assert result["error"] is None, result
    return result["snapshot"]


def pull(servers, when):
    with snap.clock(servers.replica, when):
        return servers.pull()


def held(servers, user):
    folder = servers.pool / user / "snapshots"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def sends(servers):
    """The send requests the primary's forced command served, from its syslog."""
    lines = servers.primary.syslog
    return [line for line in lines if "snapshot-send.py" in line and "'send'" in line]


def subvolume_show(path):
    out = subprocess.run(
        ["btrfs", "subvolume", "show", str(path)], capture_output=True, text=True, check=True
    ).stdout
    fields = {}
    for line in out.splitlines()[1:]:
        key, _, value = line.strip().partition(":")
        fields[key.strip()] = value.strip()
    return fields


def test_pulls_new_snapshots_only_and_incrementally(two, volume):
    user = volume.pw_name
    first = take(two, volume, at(0), {"a.bin": os.urandom(2 * MIB)})
    second = take(two, volume, at(1), {"b.bin": os.urandom(MIB)})
    completed, status = pull(two, at(1, days=0))
    assert completed.returncode == 0, (completed.stderr, status["volumes"])
    assert status["reachable"]
    assert status["error"] is None
    assert status["volumes"][user]["received"] == [first, second]
    assert held(two, user) == [first, second]
    for name in (first, second):
        copy = two.pool / user / "snapshots" / name
        source = snap.snapshot_folder(two.primary, user) / name
        assert snap.checksums(copy) == snap.checksums(source)
        shown = subvolume_show(copy)
        assert shown["Flags"] == "readonly"
        assert shown["Received UUID"] == subvolume_show(source)["UUID"]

    before = len(sends(two))
    third = take(two, volume, at(2), {"c.bin": os.urandom(MIB)})
    completed, status = pull(two, at(2))
    assert completed.returncode == 0, (completed.stderr, status["volumes"])
    assert status["volumes"][user]["received"] == [third]
    new_sends = sends(two)[before:]
    assert len(new_sends) == 1
    assert f"'send', '{user}', '{third}', '{second}'" in new_sends[0]
    assert held(two, user) == [first, second, third]
    volume_status = status["volumes"][user]
    assert volume_status["newest"] == third
    assert volume_status["lag_seconds"] == 0
    assert volume_status["behind"] is False

    completed, status = pull(two, at(3))
    assert status["volumes"][user]["received"] == []
    assert status["volumes"][user]["lag_seconds"] == 3600
