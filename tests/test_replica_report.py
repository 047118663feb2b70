"""The replica's report to the primary, on two servers on this machine: a
pull run ends by sending it over the restricted key (``report``), root on
the primary checks it as hostile and stores it, and replica-status.py gives
it to the portal. A report that is oversized, names a volume like a path or
an option, carries a negative or boolean number, an unknown or missing key,
or a sentence with control characters is refused whole, and the stored
report stays byte for byte what it was."""

import json
import os

import pytest

from support import replica
from support import snapshots as snap
from support.storage import mount_point, ok

pytestmark = pytest.mark.root
MIB = 1 << 20
T0 = "2026-03-02T00:00:00Z"
SNAPSHOT = "@GMT-2026.03.02-00.00.00"


@pytest.fixture(scope="module")
def two(wrappers):
    with replica.servers(wrappers) as servers:
        yield servers


@pytest.fixture
def volume(wrappers):
    with snap.volume(wrappers) as entry:
        yield entry


def state_file(servers):
    return servers.primary.base / "state" / "replica-report.json"


def valid_report(user="replicauser"):
    return {
        "checked_at": T0,
        "reachable": True,
        "error": None,
        "pool": {"size_bytes": 2 << 30, "free_bytes": 1 << 30},
        "verify": {"checked_at": T0, "failed": []},
        "volumes": {user: {"newest": SNAPSHOT, "count": 3, "error": None}},
    }


def send(servers, report):
    data = report if isinstance(report, bytes) else json.dumps(report).encode()
    return servers.ssh("report", input=data)


def test_a_pull_run_reports_and_replica_status_returns_it(two, volume):
    user = volume.pw_name
    snap.write_as(volume, mount_point(two.primary, user) / "a.bin", os.urandom(MIB))
    with snap.clock(two.primary, T0):
        taken = ok(two.primary, "snapshot-create.py", user)["snapshot"]
    with snap.clock(two.primary, "2026-03-02T00:20:00Z"), snap.clock(two.replica, T0):
        completed, status = two.pull()
    assert completed.returncode == 0, completed.stderr
    assert status["report_error"] is None
    report = ok(two.primary, "replica-status.py")["report"]
    assert report["received_at"] == "2026-03-02T00:20:00Z"  # the primary's clock
    assert report["checked_at"] == T0  # the replica's
    assert report["reachable"] is True
    assert report["volumes"][user] == {"newest": taken, "count": 1, "error": None}
    assert report["pool"]["size_bytes"] > report["pool"]["free_bytes"] > 0
    assert oct(state_file(two).stat().st_mode & 0o777) == "0o600"
    assert any("snapshot-send.py" in line and "'report'" in line for line in two.primary.syslog)


def _with(path, value, report=None):
    """valid_report with the value at path (a tuple of keys) replaced;
    DELETE removes the key."""
    report = report or valid_report()
    target = report
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return report


DELETE = object()


def _renamed(name):
    report = valid_report()
    report["volumes"] = {name: report["volumes"]["replicauser"]}
    return report


HOSTILE = {
    "oversized": json.dumps(valid_report()).encode() + b" " * MIB,
    "not JSON": b"{'volumes': ",
    "not UTF-8": b"\xff\xfe{}",
    "a list": b"[]",
    "path-like volume name": _renamed("../etc"),
    "absolute volume name": _renamed("/etc/passwd"),
    "volume name with a slash": _renamed("a/b"),
    "option-like volume name": _renamed("-rf"),
    "uppercase volume name": _renamed("Alice"),
    "protected volume name": _renamed("root"),
    "bad snapshot name": _with(("volumes", "replicauser", "newest"), "../@GMT-2026"),
    "negative count": _with(("volumes", "replicauser", "count"), -1),
    "boolean count": _with(("volumes", "replicauser", "count"), True),
    "float count": _with(("volumes", "replicauser", "count"), 1.5),
    "huge count": _with(("volumes", "replicauser", "count"), 10**30),
    "negative pool": _with(("pool", "free_bytes"), -5),
    "unknown top-level key": _with(("extra",), 1),
    "unknown volume key": _with(("volumes", "replicauser", "path"), "/etc"),
    "unknown pool key": _with(("pool", "used_bytes"), 1),
    "missing key": _with(("reachable",), DELETE),
    "bad time": _with(("checked_at",), "yesterday"),
    "control characters in an error": _with(("error",), "line\nforged syslog line"),
    "overlong error": _with(("volumes", "replicauser", "error"), "x" * 301),
    "non-boolean reachable": _with(("reachable",), "yes"),
    "verify naming a path": _with(("verify", "failed"), ["../x"]),
}


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_a_hostile_report_is_refused_and_the_stored_one_stays(two, kind):
    stored = send(two, valid_report())
    assert stored.returncode == 0, stored.stderr
    before = state_file(two).read_bytes()
    refused = send(two, HOSTILE[kind])
    assert refused.returncode == 2, (refused.returncode, refused.stderr)
    assert b"refused" in refused.stderr
    assert len(refused.stderr.decode().strip().splitlines()) == 1
    assert state_file(two).read_bytes() == before
    assert ok(two.primary, "replica-status.py")["report"]["volumes"] == {
        "replicauser": {"newest": SNAPSHOT, "count": 3, "error": None}
    }


def test_report_takes_no_argument_and_list_still_takes_no_stdin(two):
    refused = two.ssh("report", "extra", input=json.dumps(valid_report()).encode())
    assert refused.returncode == 2
    assert b"may only run" in refused.stderr
