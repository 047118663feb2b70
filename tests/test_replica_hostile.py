"""A primary taken over (root on it, its credentials, its forced command
replaced) answers the replica's pull with crafted listings and streams:
a subvolume named like a snapshot the replica holds, named ``../x``, a
path with ``..`` inside, a second subvolume after the first, another
protocol version, a stream of the wrong snapshot. Each is refused before
btrfs receive acts on it, and the replica's tree is as it was."""

import contextlib
import json
import os
import struct
import uuid

import pytest

from support import replica
from support import snapshots as snap
from support.storage import mount_point, ok

pytestmark = pytest.mark.root
T0, T1 = "2026-03-02T00:00:00Z", "2026-03-02T01:00:00Z"
NEW = "@GMT-2026.03.02-02.00.00"
NEW_UUID = str(uuid.uuid4())
SUBVOL, SNAPSHOT, MKFILE, END = 1, 2, 3, 21
A_UUID, A_CTRANSID, A_PATH, A_CLONE_UUID, A_CLONE_CTRANSID = 1, 2, 15, 20, 21

HOSTILE = """#!/usr/bin/python3
import os, sys
here = os.path.dirname(os.path.realpath(__file__))
name = "listing.json" if os.environ.get("SSH_ORIGINAL_COMMAND") == "list" else "stream.bin"
with open(os.path.join(here, name), "rb") as answer:
    sys.stdout.buffer.write(answer.read())
"""


def stream(*commands, version=1):
    """A send stream built by hand: (command, [(attribute, bytes)…])…"""
    out = struct.pack("<13sI", b"btrfs-stream\x00", version)
    for kind, attributes in commands:
        payload = b"".join(struct.pack("<HH", a, len(v)) + v for a, v in attributes)
        out += struct.pack("<IHI", len(payload), kind, 0) + payload
    return out


def u64(value):
    return struct.pack("<Q", value)


def snapshot_command(name, parent_uuid, own_uuid=NEW_UUID):
    return (
        SNAPSHOT,
        [
            (A_PATH, name.encode()),
            (A_UUID, uuid.UUID(own_uuid).bytes),
            (A_CTRANSID, u64(9)),
            (A_CLONE_UUID, uuid.UUID(parent_uuid).bytes),
            (A_CLONE_CTRANSID, u64(8)),
        ],
    )


@pytest.fixture(scope="module")
def two(wrappers):
    with replica.servers(wrappers) as servers:
        yield servers


@pytest.fixture(scope="module")
def copied(two):
    """A volume whose two snapshots the replica pulled honestly first."""
    with snap.volume(two.primary) as entry:
        user = entry.pw_name
        names = []
        for when in (T0, T1):
            snap.write_as(entry, mount_point(two.primary, user) / when, os.urandom(65536))
            with snap.clock(two.primary, when):
                names.append(ok(two.primary, "snapshot-create.py", user)["snapshot"])
        with snap.clock(two.replica, T1):
            completed, status = two.pull()
        assert completed.returncode == 0, status
        listing = json.loads(two.ssh("list").stdout)["volumes"][user]["snapshots"]
        yield user, names, {item["name"]: item["uuid"] for item in listing}


@contextlib.contextmanager
def hostile_primary(two, listing, answer):
    """The primary's root swaps the forced command for its own program,
    which answers list with listing and every send with answer."""
    folder = two.primary.base / "hostile"
    folder.mkdir(mode=0o700, exist_ok=True)
    program = folder / "answer.py"
    program.write_text(HOSTILE)
    program.chmod(0o700)
    (folder / "listing.json").write_text(json.dumps(listing))
    (folder / "stream.bin").write_bytes(answer)
    honest = two.server.authorized_keys.read_text()
    key = honest.split('" ', 1)[1]
    two.server.authorized_keys.write_text(f'restrict,command="{program}" {key}')
    try:
        yield
    finally:
        two.server.authorized_keys.write_text(honest)


def replica_state(two):
    return snap.tree_state(two.pool), {
        p.name: snap.checksums(p) for p in (two.pool).glob("*/snapshots/*")
    }


def listing_with_new(user, uuids):
    snapshots = [{"name": n, "uuid": u} for n, u in uuids.items()]
    return {"volumes": {user: {"snapshots": [*snapshots, {"name": NEW, "uuid": NEW_UUID}]}}}


def attempt(two, listing, answer):
    before = replica_state(two)
    with hostile_primary(two, listing, answer), snap.clock(two.replica, T1):
        completed, status = two.pull()
    after = replica_state(two)
    # Only the status file changed; nothing under .incoming was left.
    assert {k: v for k, v in after[0].items() if k != ".status.json"} == {
        k: v for k, v in before[0].items() if k != ".status.json"
    }
    assert after[1] == before[1]
    assert list((two.pool / ".incoming").iterdir()) == []
    assert completed.returncode == 1
    return status


def test_a_subvolume_named_like_a_snapshot_the_replica_holds_is_refused(two, copied):
    user, (_first, second), uuids = copied
    crafted = stream(snapshot_command(second, uuids[second]), (END, []))
    status = attempt(two, listing_with_new(user, uuids), crafted)
    assert f"names its subvolume '{second}', not {NEW}" in status["volumes"][user]["error"]


def test_a_subvolume_named_dot_dot_is_refused(two, copied):
    user, (_first, second), uuids = copied
    crafted = stream(snapshot_command("../x", uuids[second]), (END, []))
    status = attempt(two, listing_with_new(user, uuids), crafted)
    assert "names its subvolume '../x'" in status["volumes"][user]["error"]


def test_a_path_leaving_the_subvolume_is_refused(two, copied):
    user, (_first, second), uuids = copied
    crafted = stream(
        snapshot_command(NEW, uuids[second]),
        (MKFILE, [(A_PATH, b"../../../escaped")]),
        (END, []),
    )
    status = attempt(two, listing_with_new(user, uuids), crafted)
    assert "'..'" in status["volumes"][user]["error"]


def test_a_second_subvolume_in_the_stream_is_refused(two, copied):
    user, (_first, second), uuids = copied
    crafted = stream(
        snapshot_command(NEW, uuids[second]),
        (SUBVOL, [(A_PATH, b"extra"), (A_UUID, uuid.uuid4().bytes), (A_CTRANSID, u64(1))]),
        (END, []),
    )
    status = attempt(two, listing_with_new(user, uuids), crafted)
    assert "second subvolume" in status["volumes"][user]["error"]


def test_anything_after_the_end_is_refused(two, copied):
    user, (_first, second), uuids = copied
    crafted = stream(snapshot_command(NEW, uuids[second]), (END, []), (END, []))
    status = attempt(two, listing_with_new(user, uuids), crafted)
    assert "after its END" in status["volumes"][user]["error"]


def test_another_protocol_version_is_refused(two, copied):
    user, (_first, second), uuids = copied
    crafted = stream(snapshot_command(NEW, uuids[second]), (END, []), version=2)
    status = attempt(two, listing_with_new(user, uuids), crafted)
    assert "version 2" in status["volumes"][user]["error"]


def test_a_real_stream_of_a_snapshot_the_replica_holds_is_refused(two, copied):
    """A genuine btrfs send of the replica's own newest snapshot, given for
    the new one: the wrong kind (whole, not incremental) and the wrong name."""
    user, (_first, second), uuids = copied
    genuine = two.ssh("send", user, second).stdout
    status = attempt(two, listing_with_new(user, uuids), genuine)
    assert "does not start as an incremental snapshot" in status["volumes"][user]["error"]


def test_a_stream_with_another_parent_is_refused(two, copied):
    user, (first, _second), uuids = copied
    crafted = stream(snapshot_command(NEW, uuids[first]), (END, []))
    status = attempt(two, listing_with_new(user, uuids), crafted)
    assert "parent is not the snapshot we asked for" in status["volumes"][user]["error"]


@pytest.mark.parametrize(
    "listing",
    [
        {"volumes": {"../x": {"snapshots": []}}},
        {"volumes": {"root": {"snapshots": []}}},
        {"volumes": {"{user}": {"snapshots": [{"name": "../../x", "uuid": NEW_UUID}]}}},
        {"volumes": {"{user}": {"snapshots": [{"name": NEW, "uuid": "not-a-uuid"}]}}},
        {"volumes": "everything"},
    ],
)
def test_a_crafted_listing_is_refused_whole(two, copied, listing):
    user = copied[0]
    listing = json.loads(json.dumps(listing).replace("{user}", user))
    status = attempt(two, listing, b"")
    assert status["reachable"] is False
    assert status["volumes"][user]["error"] is None
    assert status["volumes"][user]["pruned"] == []


def test_a_snapshot_from_the_future_is_not_copied(two, copied):
    """Copied, it would hold back every later snapshot (only what is newer
    than the newest copy is pulled) and stay protected for years."""
    user, (_first, second), uuids = copied
    future = "@GMT-2099.01.01-00.00.00"
    listing = {
        "volumes": {
            user: {
                "snapshots": [
                    *({"name": n, "uuid": u} for n, u in uuids.items()),
                    {"name": future, "uuid": NEW_UUID},
                ]
            }
        }
    }
    crafted = stream(snapshot_command(future, uuids[second]), (END, []))
    status = attempt(two, listing, crafted)
    assert "from the future" in status["volumes"][user]["error"]
