"""The replica server on this machine: the session's wrappers are the
primary, a second install with its own btrfs pool is the replica, a private
sshd on a loopback port carries the pull. New snapshots only, incremental;
a transfer killed half-way is deleted and done again, never counted;
retention and protection are the replica's own, over simulated time;
promote gives back the newest snapshot's files when the primary is gone, and
the share serves them over SMB from the replica."""

import hashlib
import json
import os
import pwd
import signal
import subprocess
import time
from pathlib import Path

import pytest

from support import replica, samba_server
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


def incoming(servers):
    folder = servers.pool / ".incoming"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_transfer_killed_half_way_is_never_counted_and_is_done_again(two, volume):
    user = volume.pw_name
    name = take(two, volume, at(0), {"big.bin": os.urandom(256 * MIB)})
    with snap.clock(two.replica, at(0)):
        pulling = subprocess.Popen(
            [str(two.replica.path / "tools" / "replica-pull.py")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
            start_new_session=True,
        )
        try:
            partial = None
            deadline = time.monotonic() + 60
            while partial is None and time.monotonic() < deadline:
                found = list((two.pool / ".incoming").glob(f"{user}-*/{name}"))
                partial = found[0] if found else None
            assert partial is not None, "the transfer was not seen under way"
            # Power lost mid-transfer: the pull, ssh and receive, at once.
            os.killpg(pulling.pid, signal.SIGKILL)
        finally:
            if pulling.poll() is None:
                os.killpg(pulling.pid, signal.SIGKILL)
            pulling.wait()
    assert partial.is_dir()
    assert subvolume_show(partial)["Flags"] != "readonly"
    assert held(two, user) == []

    completed, status = pull(two, at(0))
    assert completed.returncode == 0, (completed.stderr, status["volumes"])
    assert status["cleared"] == [f"{partial.parent.name}/{name}"]
    assert status["volumes"][user]["received"] == [name]
    assert held(two, user) == [name]
    assert incoming(two) == []
    source = snap.snapshot_folder(two.primary, user) / name
    assert snap.checksums(two.pool / user / "snapshots" / name) == snap.checksums(source)


def receive_pid(servers):
    """The pid of the btrfs receive writing into the replica's .incoming."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"receive" in argv and any(
            arg.startswith(str(servers.pool / ".incoming").encode()) for arg in argv
        ):
            return int(entry.name)
    return None


def test_a_receive_killed_half_way_fails_that_volume_and_leaves_nothing(two, volume):
    user = volume.pw_name
    name = take(two, volume, at(0), {"big.bin": os.urandom(256 * MIB)})
    with snap.clock(two.replica, at(0)):
        pulling = subprocess.Popen(
            [str(two.replica.path / "tools" / "replica-pull.py")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        )
        deadline = time.monotonic() + 60
        killed = False
        while not killed and time.monotonic() < deadline:
            pid = receive_pid(two)
            if pid and list((two.pool / ".incoming").glob(f"{user}-*/{name}")):
                os.kill(pid, signal.SIGKILL)
                killed = True
        _, errors = pulling.communicate(timeout=120)
    assert killed, "the receive was not seen under way"
    assert pulling.returncode == 1
    assert b"1 volume(s) failed" in errors
    status = json.loads((two.pool / ".status.json").read_text())
    assert "btrfs receive" in status["volumes"][user]["error"]
    assert status["volumes"][user]["count"] == 0
    assert held(two, user) == []
    assert incoming(two) == []

    completed, status = pull(two, at(0))
    assert completed.returncode == 0, (completed.stderr, status["volumes"])
    assert status["volumes"][user]["received"] == [name]
    source = snap.snapshot_folder(two.primary, user) / name
    assert snap.checksums(two.pool / user / "snapshots" / name) == snap.checksums(source)


def test_retention_and_protection_are_the_replica_s_own(two, volume):
    """The replica protects for 30 days where the primary protects for 14,
    and keeps what the primary still holds; past its own window, its own
    retention (here: only the newest) prunes the rest."""
    user = volume.pw_name
    names = [take(two, volume, at(hour), {f"f{hour}": os.urandom(4096)}) for hour in range(3)]
    policy = {"hourly": 0, "daily": 0, "weekly": 0, "monthly": 0}
    replica_policy = {"SNAPSHOT_PROTECTION_DAYS": 30, "SNAPSHOT_RETENTION": policy}
    with snap.clock(two.replica, at(3), **replica_policy):
        completed, status = two.pull()
    assert status["volumes"][user]["received"] == names

    # The primary's protection (14 days) ends and its retention prunes.
    with snap.clock(two.primary, at(days=15), SNAPSHOT_RETENTION=policy):
        pruned = ok(two.primary, "snapshot-prune.py", user)["pruned"]
    assert pruned == names[:2]
    with snap.clock(two.replica, at(days=15), **replica_policy):
        completed, status = two.pull()
    assert completed.returncode == 0, (completed.stderr, status["volumes"])
    assert status["volumes"][user]["pruned"] == []
    assert held(two, user) == names

    with snap.clock(two.replica, at(days=31), **replica_policy):
        completed, status = two.pull()
    assert completed.returncode == 0, (completed.stderr, status["volumes"])
    assert status["volumes"][user]["pruned"] == names[:2]
    assert held(two, user) == names[2:]
    assert status["volumes"][user]["behind"] is True


def test_promote_gives_back_the_newest_snapshot_when_the_primary_is_gone(two, wrappers):
    with snap.volume(wrappers) as entry:
        user = entry.pw_name
        older = take(two, entry, at(0), {"report.odt": os.urandom(MIB)})
        (mount_point(wrappers, user) / "report.odt").unlink()
        newest = take(two, entry, at(1), {"photo.jpg": os.urandom(3 * MIB), "notes.txt": b"x"})
        expected = snap.checksums(snap.snapshot_folder(wrappers, user) / newest)
        completed, status = pull(two, at(1))
        assert completed.returncode == 0, (completed.stderr, status["volumes"])
    # The primary's volume, its snapshots and its pool image are gone now.
    assert not (snap.snapshot_folder(wrappers, user)).exists()

    result = two.replica.run("tools/replica-promote.py", user)
    assert result.returncode == 0, result.stderr
    promoted = json.loads(result.stdout)["promoted"]
    assert promoted == [{"user": user, "snapshot": newest, "data": str(two.pool / user / "data")}]
    data = two.pool / user / "data"
    assert snap.checksums(data) == expected
    assert sorted(expected) == ["notes.txt", "photo.jpg"]
    (data / "after-promote.txt").write_text("writable")
    again = two.replica.run("tools/replica-promote.py", user)
    assert again.returncode == 2
    assert "already promoted" in again.stderr
    assert held(two, user) == [older, newest]
    serve_promoted_over_smb(two, user, data, expected)

    everyone = two.replica.run("tools/replica-promote.py")
    assert everyone.returncode == 0, everyone.stderr
    answer = json.loads(everyone.stdout)
    assert "already promoted" in answer["failed"][user]
    for item in answer["promoted"]:
        assert snap.checksums(two.pool / item["user"] / "data") == snap.checksums(
            two.pool / item["user"] / "snapshots" / item["snapshot"]
        )


def serve_promoted_over_smb(two, user, data, expected):
    """The documented steps after promote, done here as the admin would:
    the backup account again on the replica (the primary's is gone with it),
    the files given to it, the data mounted where the share expects it, a
    backup password; then the share serves the files and takes new ones."""
    password = "promoted-" + os.urandom(6).hex()
    ok(two.replica, "useradd.py", user)
    try:
        entry = pwd.getpwnam(user)
        subprocess.run(["chown", "-R", f"{entry.pw_uid}:{entry.pw_gid}", str(data)], check=True)
        share = mount_point(two.replica, user)
        share.mkdir(mode=0o700)
        subprocess.run(["mount", "--bind", str(data), str(share)], check=True)
        try:
            result = two.replica.run("smbpasswd.py", user, input_text=password + "\n")
            assert result.returncode == 0, result.stderr
            shares = {user: {"path": share, "read only": "no", "valid users": user}}
            with samba_server.running(two.replica, shares) as server:
                local = two.replica.base / "fetched.jpg"
                got = server.smbclient(user, password, user, f"get photo.jpg {local}")
                assert got.returncode == 0, got.stdout + got.stderr
                assert hashlib.sha256(local.read_bytes()).hexdigest() == expected["photo.jpg"]
                put = server.smbclient(user, password, user, f"put {local} new-backup.jpg")
                assert put.returncode == 0, put.stdout + put.stderr
            assert (data / "new-backup.jpg").stat().st_uid == entry.pw_uid
        finally:
            subprocess.run(["umount", str(share)], check=False)
            share.rmdir()
    finally:
        two.replica.run("deluser.py", user)
        subprocess.run(["userdel", user], capture_output=True, check=False)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("REPLICA_PRIMARY_HOST", "-oProxyCommand=touch /tmp/x"),
        ("REPLICA_PRIMARY_HOST", None),
        ("REPLICA_PRIMARY_PORT", "22"),
        ("REPLICA_SSH_KEY", "relative/key"),
    ],
)
def test_a_wrong_setting_is_refused_and_nothing_is_pulled(two, setting, value):
    with snap.clock(two.replica, at(5), **{setting: value}):
        completed, status = two.pull()
    assert completed.returncode == 1
    assert status["reachable"] is False
    assert f"the wrapper setting {setting} must be" in status["error"]
    assert "the primary was not reachable" in completed.stderr


def test_verify_reads_back_the_copies_and_finds_one_changed_since(two, volume):
    user = volume.pw_name
    older = take(two, volume, at(0), {"a.bin": os.urandom(MIB)})
    take(two, volume, at(1), {"b.bin": os.urandom(MIB), "c.txt": b"c"})
    completed, status = pull(two, at(1))
    assert completed.returncode == 0, (completed.stderr, status["volumes"])

    checked = two.replica.run("tools/replica-verify.py")
    assert checked.returncode == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert report["primary_reachable"]
    found = report["volumes"][user]
    assert found["copies"] == 2
    assert found["mismatched"] == []
    assert found["unreadable"] == []
    assert found["files_read"] == 3
    assert found["bytes_read"] == 2 * MIB + 1

    # Root on the replica (by mistake or not) makes a copy writable.
    copy = two.pool / user / "snapshots" / older
    subprocess.run(["btrfs", "property", "set", "-f", str(copy), "ro", "false"], check=True)
    checked = two.replica.run("tools/replica-verify.py")
    assert checked.returncode == 1
    assert "1 volume(s) failed verification" in checked.stderr
    report = json.loads((two.pool / ".verify.json").read_text())
    assert report["volumes"][user]["mismatched"] == [older]
