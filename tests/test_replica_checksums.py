"""Verification compares a sample of the replica's files with the primary's
by checksum: tools/replica-verify.py hashes what it reads back and asks the
primary (``checksum USER SNAPSHOT``, paths on stdin) for the sha256 of the
same files in the same read-only snapshot; a file that differs fails the
volume and reaches the report the portal stores. The primary's side reads
as the volume's owner, never follows a link, and refuses any request that
is not 1 to 20 well-formed paths. And the replica's cap on one transfer's
size."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import replica
from support import snapshots as snap
from support.storage import mount_point, ok

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "wrappers"))
from wrapperlib.replica_checksums import ref_path

pytestmark = pytest.mark.root
MIB = 1 << 20
T0 = "2026-03-02T00:00:00Z"


@pytest.fixture(scope="module")
def two(wrappers):
    with replica.servers(wrappers) as servers:
        yield servers


@pytest.fixture
def volume(wrappers):
    with snap.volume(wrappers) as entry:
        yield entry


def take(servers, entry, files):
    for name, data in files.items():
        snap.write_as(entry, mount_point(servers.primary, entry.pw_name) / name, data)
    with snap.clock(servers.primary, T0):
        return ok(servers.primary, "snapshot-create.py", entry.pw_name)["snapshot"]


def pull_and_verify(servers):
    with snap.clock(servers.replica, T0):
        completed, _status = servers.pull()
        assert completed.returncode == 0, completed.stderr
        checked = servers.replica.run("tools/replica-verify.py")
    return checked, json.loads((servers.pool / ".verify.json").read_text())


def set_read_only(path, value):
    flag = "true" if value else "false"
    subprocess.run(["btrfs", "property", "set", "-f", str(path), "ro", flag], check=True)


def change_in_snapshot(servers, user, name, file, data):
    device = subprocess.run(
        ["findmnt", "-n", "-o", "SOURCE", str(snap.top_point(servers.primary, user))],
        capture_output=True, text=True, check=True,
    ).stdout.strip().split("[")[0]  # fmt: skip
    writable = servers.replica.base / f"writable-{user}"
    writable.mkdir()
    subprocess.run(["mount", "-o", "subvolid=5", device, str(writable)], check=True)
    try:
        source = writable / "snapshots" / name
        set_read_only(source, False)
        (source / file).write_bytes(data)
        set_read_only(source, True)
    finally:
        subprocess.run(["umount", str(writable)], check=True)
        writable.rmdir()


def test_the_sample_matches_the_primary_and_a_changed_file_fails_the_volume(two, volume):
    user = volume.pw_name
    name = take(two, volume, {"a.bin": os.urandom(MIB), "b.txt": b"b", "c.txt": b"c"})
    checked, report = pull_and_verify(two)
    assert checked.returncode == 0, checked.stderr
    found = report["volumes"][user]
    assert found["files_read"] == 3
    assert found["compared"] == 3
    assert found["differing"] == []
    assert found["not_compared"] is None
    assert any(f"'checksum', '{user}', '{name}'" in line for line in two.primary.syslog)

    # The primary's snapshot no longer holds what the replica copied (changed
    # through a writable mount of its filesystem: the wrappers mount it read-only).
    change_in_snapshot(two, user, name, "b.txt", b"not b")
    with snap.clock(two.replica, T0):
        checked = two.replica.run("tools/replica-verify.py")
    assert checked.returncode == 1
    assert "1 volume(s) failed verification" in checked.stderr
    found = json.loads(checked.stdout or (two.pool / ".verify.json").read_text())["volumes"][user]
    assert found["differing"] == ["b.txt"]

    # The next pull's report tells the primary, and so the portal.
    with snap.clock(two.replica, T0):
        two.pull()
    stored = ok(two.primary, "replica-status.py")["report"]
    assert user in stored["verify"]["failed"]


def checksum(servers, user, name, data):
    return servers.ssh("checksum", user, name, input=data)


def test_the_primary_reads_as_the_owner_and_never_follows_a_link(two, volume):
    user = volume.pw_name
    top = mount_point(two.primary, user)
    snap.write_as(volume, top / "plain.txt", b"plain")
    for argv in (
        ["ln", "-s", "/etc/shadow", "shadow"],
        ["mkdir", "dir"],
        ["ln", "-s", "/etc", "etc"],
    ):
        made = snap.as_user(volume, argv, cwd=top)
        assert made.returncode == 0, made.stderr
    with snap.clock(two.primary, T0):
        name = ok(two.primary, "snapshot-create.py", user)["snapshot"]
    paths = ["plain.txt", "shadow", "dir", "etc/shadow", "missing"]
    answered = checksum(two, user, name, "\n".join(map(ref_path, paths)).encode())
    assert answered.returncode == 0, answered.stderr
    files = json.loads(answered.stdout)["files"]
    assert files[ref_path("plain.txt")] == {"sha256": hashlib.sha256(b"plain").hexdigest()}
    with open("/etc/shadow", "rb") as secret:
        shadow = hashlib.sha256(secret.read()).hexdigest()
    assert shadow not in answered.stdout.decode()
    for path in ("shadow", "dir", "etc/shadow", "missing"):
        assert "error" in files[ref_path(path)], (path, files)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"../../etc/shadow", "invalid path"),
        (b"/etc/shadow", "invalid path"),
        (b".", "the snapshot itself"),
        (b"", "1 to 20 files"),
        ("\n".join([ref_path("a")] * 21).encode(), "1 to 20 files"),
        (ref_path("a").encode() + b"\xff", "not ASCII"),
        (b"x" * (65 << 10), "over"),
        (ref_path("..").encode(), "names no possible entry"),
    ],
)
def test_a_bad_checksum_request_is_refused(two, volume, data, why):
    user = volume.pw_name
    with snap.clock(two.primary, T0):
        name = ok(two.primary, "snapshot-create.py", user)["snapshot"]
    refused = checksum(two, user, name, data)
    assert refused.returncode == 2, refused.stderr
    assert why in refused.stderr.decode()


def test_checksum_of_a_snapshot_or_account_that_is_not_there_is_refused(two, volume):
    for user, name in (
        (volume.pw_name, "@GMT-2020.01.01-00.00.00"),
        ("root", "@GMT-2026.03.02-00.00.00"),
    ):
        refused = checksum(two, user, name, ref_path("a").encode())
        assert refused.returncode == 2, refused.stderr


def test_a_stream_past_the_transfer_cap_is_stopped_and_not_counted(two, volume):
    """The replica's own cap on one transfer: a pool that would keep less
    than REPLICA_MIN_FREE_PERCENT free refuses the stream; nothing counts,
    nothing is left; with room, the same snapshot comes over."""
    user = volume.pw_name
    name = take(two, volume, {"big.bin": os.urandom(8 * MIB)})
    with snap.clock(two.replica, T0, REPLICA_MIN_FREE_PERCENT=99):
        completed, status = two.pull()
    assert completed.returncode == 1
    assert "larger than this transfer's cap" in status["volumes"][user]["error"]
    assert not (two.pool / user / "snapshots" / name).exists()
    assert list((two.pool / ".incoming").iterdir()) == []
    with snap.clock(two.replica, T0):
        completed, status = two.pull()
    assert completed.returncode == 0, completed.stderr
    assert status["volumes"][user]["received"] == [name]
