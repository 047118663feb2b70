"""fetch_backups.py end to end, as root: the JSON it prints, that it reads as
the volume's owner, that a hostile volume neither escapes it nor stops it,
its bounds, and its refusals."""

import datetime
import json
import os
import plistlib
import pwd
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from support import accounts, backup_tools

pytestmark = pytest.mark.root

REFUSED = 2
T0 = datetime.datetime(2024, 3, 1, 9, 0, 0, tzinfo=datetime.UTC)
# A date that only the files outside the volume hold.
OUTSIDE_DATE = datetime.datetime(1999, 12, 31, 23, 59, 59)
SOURCE_KEYS = {
    "machine",
    "format",
    "path",
    "last_backup",
    "backups",
    "state",
    "size_bytes",
    "size_estimated",
    "evidence",
    "in_progress_since",
}


def bundle(parent, name, completed=T0):
    """A Time Machine network bundle, as macOS leaves it on the share."""
    path = Path(os.fsdecode(os.path.join(os.fsencode(parent), os.fsencode(name))))
    (path / "bands").mkdir(parents=True)
    for index in range(3):
        (path / "bands" / str(index)).write_bytes(b"")
    (path / "Info.plist").write_bytes(plistlib.dumps({"band-size": 8388608}))
    (path / "com.apple.TimeMachine.MachineID.plist").write_bytes(
        plistlib.dumps({"VerificationState": 1, "com.apple.backupd.HostUUID": "0123"})
    )
    history = {"Snapshots": [{"com.apple.backupd.SnapshotCompletionDate": completed}]}
    (path / "com.apple.TimeMachine.SnapshotHistory.plist").write_bytes(plistlib.dumps(history))
    return path


def windows_backup(parent, pc):
    run = parent / pc / "Backup Set 2024-03-01 090000" / "Backup Files 2024-03-01 090000"
    run.mkdir(parents=True)
    (run / "Backup files 1.zip").write_bytes(b"PK")


def rdiff_mirror(path):
    data = path / "rdiff-backup-data"
    data.mkdir(parents=True)
    (data / "current_mirror.2024-03-01T09:00:00Z.data").write_text("PID 1\n")
    (data / "mirror_metadata.2024-03-01T09:00:00Z.snapshot.gz").write_bytes(b"")
    (path / "notes.txt").write_text("mirrored\n")


def tree_state(path):
    """Every entry under path with its metadata (modes, owners, sizes, mtimes)."""
    state = {}
    for directory, subdirectories, files in os.walk(path):
        for name in [*subdirectories, *files]:
            info = os.lstat(os.path.join(directory, name))
            state[os.path.join(directory, name)] = (
                info.st_mode,
                info.st_uid,
                info.st_size,
                info.st_mtime_ns,
            )
    return state


def refused(result, why):
    assert result.returncode == REFUSED, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.startswith("fetch_backups.py: refused: ")
    assert result.stderr.count("\n") == 1
    assert why in result.stderr


@pytest.fixture
def volume(wrappers):
    with backup_tools.backup_volume(wrappers) as made:
        yield made


def test_prints_what_the_volume_holds(wrappers, volume):
    name, path = volume
    bundle(path, "Ann-MacBook.sparsebundle")
    windows_backup(path, "WORKPC")
    (path / "photos").mkdir()
    backup_tools.give_to(path, name)
    before = tree_state(path)
    started = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    report = backup_tools.fetch(wrappers, name)
    finished = datetime.datetime.now(datetime.UTC)
    assert set(report) == {
        "user",
        "scanned_at",
        "truncated",
        "sources",
        "more_sources",
        "unrecognised",
        "more_unrecognised",
    }
    assert (report["more_sources"], report["more_unrecognised"]) == (0, 0)
    assert report["user"] == name
    assert report["scanned_at"].endswith("Z")
    assert started <= backup_tools.utc(report["scanned_at"]) <= finished
    assert report["truncated"] is False
    assert all(set(source) == SOURCE_KEYS for source in report["sources"])
    assert [(s["format"], s["machine"], s["path"]) for s in report["sources"]] == [
        ("time_machine", "Ann-MacBook", "Ann-MacBook.sparsebundle"),
        ("windows_backup", "WORKPC", "WORKPC"),
    ]
    assert report["sources"][0]["last_backup"] == "2024-03-01T09:00:00Z"
    assert [item["path"] for item in report["unrecognised"]] == ["photos"]
    assert tree_state(path) == before  # read only
    assert any("fetch_backups.py: ok" in line and name in line for line in wrappers.syslog), (
        wrappers.syslog
    )


def test_reads_with_the_owners_privileges_only(wrappers, volume):
    name, path = volume
    bundle(path, "Visible.sparsebundle")
    backup_tools.give_to(path, name)
    # Something root put in the volume, that the owner can't open: scanning
    # as root would find the bundle inside.
    hidden = path / "root-only"
    bundle(hidden, "Hidden.sparsebundle")
    os.chmod(hidden, 0o700)
    report = backup_tools.fetch(wrappers, name)
    assert [source["machine"] for source in report["sources"]] == ["Visible"]
    assert [item["path"] for item in report["unrecognised"]] == ["root-only"]


def test_a_backup_at_the_root_the_owner_cannot_read_does_not_stop_the_scan(wrappers, volume):
    name, path = volume
    bundle(path, "Visible.sparsebundle")
    backup_tools.give_to(path, name)
    # The volume root looks like a Windows 7 backup folder whose set is root's.
    unreadable = path / "Backup Set 2024-03-01 090000"
    unreadable.mkdir(mode=0o700)
    report = backup_tools.fetch(wrappers, name)
    assert [source["machine"] for source in report["sources"]] == ["Visible"]
    assert [item["path"] for item in report["unrecognised"]] == [".", unreadable.name]


@pytest.fixture(scope="module")
def hostile(wrappers):
    """A volume built to escape or stall the scan, and files outside it (in
    the session's world-traversable base, so the owner could reach them)."""
    outside = wrappers.base / f"outside-{secrets.token_hex(3)}"
    outside.mkdir(mode=0o755)
    # World-readable and a valid bundle: only following a symlink finds it.
    bundle(outside, "Outside.sparsebundle", completed=OUTSIDE_DATE)
    subprocess.run(["chmod", "-R", "a+rX", str(outside)], check=True)
    # Root's only: the owner can't read it even through a symlink.
    history = plistlib.dumps(
        {"Snapshots": [{"com.apple.backupd.SnapshotCompletionDate": OUTSIDE_DATE}]}
    )
    (outside / "history.plist").write_bytes(history)
    os.chmod(outside / "history.plist", 0o644)
    secret = outside / "secret.plist"
    secret.write_bytes(history)
    os.chmod(secret, 0o600)
    with backup_tools.backup_volume(wrappers) as (name, path):
        bundle(path, "Good.sparsebundle")
        bundle(path, b"Caf\xe9\nMac.sparsebundle")
        rdiff_mirror(path / "laptop")
        (path / "shadow").symlink_to("/etc/shadow")
        loops = path / "loops"
        loops.mkdir()
        (loops / "self").symlink_to("self")
        (loops / "a").symlink_to("b")
        (loops / "b").symlink_to("a")
        (loops / "up").symlink_to("..")
        (loops / "root").symlink_to("/")
        many = path / "many"
        many.mkdir()
        for index in range(100_000):
            os.close(os.open(many / f"f{index}", os.O_CREAT | os.O_WRONLY, 0o600))
        broken = bundle(path, "Broken.sparsebundle")
        (broken / "com.apple.TimeMachine.SnapshotHistory.plist").write_bytes(b"<plist><dict>")
        (path / "Linked.sparsebundle").symlink_to(outside / "Outside.sparsebundle")
        stolen = bundle(path, "Stolen.sparsebundle")
        (stolen / "com.apple.TimeMachine.SnapshotHistory.plist").unlink()
        (stolen / "com.apple.TimeMachine.SnapshotHistory.plist").symlink_to(secret)
        borrowed = bundle(path, "Borrowed.sparsebundle")
        (borrowed / "com.apple.TimeMachine.SnapshotHistory.plist").unlink()
        (borrowed / "com.apple.TimeMachine.SnapshotHistory.plist").symlink_to(
            outside / "history.plist"
        )
        os.mkdir(os.fsencode(path) + b"/odd\n\xffname")
        fifo_repository = path / "fifo-repo"
        for folder in ("keys", "snapshots", "data", "index"):
            (fifo_repository / folder).mkdir(parents=True)
        os.mkfifo(fifo_repository / "config")
        backup_tools.give_to(path, name)
        try:
            yield name, path, outside
        finally:
            shutil.rmtree(outside)


def as_owner(name, *argv):
    owner = pwd.getpwnam(name)
    return subprocess.run(
        argv,
        user=owner.pw_uid,
        group=owner.pw_gid,
        extra_groups=[],
        capture_output=True,
        check=False,
    )


def test_a_hostile_volume_is_scanned_without_escaping_it(wrappers, hostile):
    name, _, outside = hostile
    result = wrappers.run("fetch_backups.py", name)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["truncated"] is False
    assert [(s["path"], s["machine"], s["last_backup"]) for s in report["sources"]] == [
        ("Caf\\xe9\\x0aMac.sparsebundle", "Caf\\xe9\\x0aMac", "2024-03-01T09:00:00Z"),
        ("Good.sparsebundle", "Good", "2024-03-01T09:00:00Z"),
        ("laptop", None, "2024-03-01T09:00:00Z"),
    ]
    assert sorted(item["path"] for item in report["unrecognised"]) == [
        "Borrowed.sparsebundle",
        "Broken.sparsebundle",
        "Stolen.sparsebundle",
        "fifo-repo",
        "loops",
        "many",
        "odd\\x0a\\xffname",
    ]  # the symlinks at the root (shadow, Linked.sparsebundle) are no folders
    # Nothing from outside the volume: neither the bundle or plist that
    # symlinks point to, which the owner could read, nor the plist another
    # one points to, which the owner can't read at all.
    assert "Outside" not in result.stdout
    assert "1999" not in result.stdout
    for readable in ("Outside.sparsebundle/Info.plist", "history.plist"):
        assert as_owner(name, "cat", str(outside / readable)).returncode == 0
    denied = as_owner(name, "cat", str(outside / "secret.plist"))
    assert denied.returncode != 0
    assert denied.stdout == b""


def test_a_scan_stopped_by_the_entry_bound_still_reports_the_backups(wrappers, hostile):
    name = hostile[0]
    with accounts.settings_override(wrappers, SCAN_MAX_ENTRIES=50_000):
        report = backup_tools.fetch(wrappers, name)
    assert report["truncated"] is True
    # Found by their markers before any large folder is listed.
    assert sorted(source["path"] for source in report["sources"]) == [
        "Caf\\xe9\\x0aMac.sparsebundle",
        "Good.sparsebundle",
        "laptop",
    ]
    assert "many" in [item["path"] for item in report["unrecognised"]]


def test_a_scan_stopped_by_the_time_bound_says_so(wrappers, hostile):
    with accounts.settings_override(wrappers, SCAN_MAX_SECONDS=0):
        report = backup_tools.fetch(wrappers, hostile[0])
    assert report["truncated"] is True


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["alice", "bob"], "expected USER"),
        (["../etc"], "invalid user name"),
        (["-h"], "invalid user name"),
        (["root"], "protected account"),
    ],
)
def test_bad_arguments_are_refused(wrappers, args, why):
    refused(wrappers.run("fetch_backups.py", *args), why)


def test_an_account_outside_the_managed_group_is_refused(wrappers):
    uid = accounts.free_uid(
        wrappers.settings["ACCOUNT_UID_MIN"], wrappers.settings["ACCOUNT_UID_MAX"]
    )
    with accounts.outsider(uid=uid) as entry:
        refused(wrappers.run("fetch_backups.py", entry.pw_name), "not a backup account")


def test_an_account_without_a_volume_is_refused_and_nothing_changes(wrappers):
    name = accounts.create_backup_account(wrappers)
    try:
        before = accounts.host_state(wrappers)
        refused(wrappers.run("fetch_backups.py", name), "has no volume")
        assert accounts.changes(before, accounts.host_state(wrappers)) == []
    finally:
        accounts.remove_backup_account(wrappers, name)


def test_a_mount_point_replaced_by_a_symlink_is_refused(wrappers, tmp_path):
    name = accounts.create_backup_account(wrappers)
    elsewhere = tmp_path / "elsewhere"
    bundle(elsewhere, "Elsewhere.sparsebundle")
    subprocess.run(["chmod", "-R", "a+rX", str(tmp_path)], check=True)
    link = Path(wrappers.settings["DIRECTORIES_ROOT"]) / name
    link.symlink_to(elsewhere)
    try:
        refused(wrappers.run("fetch_backups.py", name), "is not a directory")
    finally:
        link.unlink()
        accounts.remove_backup_account(wrappers, name)


def test_without_a_user_every_volume_is_scanned_in_one_call(wrappers):
    with (
        backup_tools.backup_volume(wrappers) as (first, first_path),
        backup_tools.backup_volume(wrappers) as (second, second_path),
    ):
        bundle(first_path, "First-Mac.sparsebundle")
        windows_backup(second_path, "SECONDPC")
        backup_tools.give_to(first_path, first)
        backup_tools.give_to(second_path, second)
        result = wrappers.run("fetch_backups.py")
        assert result.returncode == 0, result.stderr
        reports = {report["user"]: report for report in json.loads(result.stdout)["volumes"]}
        # Only backup accounts: root, system accounts and others never appear.
        assert "root" not in reports
        uid_min = wrappers.settings["ACCOUNT_UID_MIN"]
        assert all(pwd.getpwnam(name).pw_uid >= uid_min for name in reports)
    assert reports[first]["mounted"] is False  # plain directories here
    assert [s["machine"] for s in reports[first]["sources"]] == ["First-Mac"]
    assert [s["machine"] for s in reports[second]["sources"]] == ["SECONDPC"]
    assert "scanned_at" in reports[second]
