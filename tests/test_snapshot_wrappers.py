"""Protected snapshots on real loop-file btrfs volumes, through the real
wrappers: the layout, taking and measuring snapshots, listing them,
retention and protection over simulated time (the root-owned SNAPSHOT_CLOCK
setting), and lvremove refusing while a snapshot is protected."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import posix1e
import pytest

from support import snapshots as snap

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "wrappers"))
from support.storage import mount_options, mount_point, ok, refused

pytestmark = pytest.mark.root

T0 = "2026-03-02T00:00:00Z"


def names_in(wrappers, user):
    return sorted(p.name for p in snap.snapshot_folder(wrappers, user).iterdir())


def listed(wrappers, user):
    return ok(wrappers, "snapshot-list.py", user)["volumes"][user]


@pytest.fixture
def btrfs(wrappers):
    with snap.volume(wrappers) as entry:
        yield entry


def test_layout_mounts_data_at_the_share_path_and_the_top_level_for_root(wrappers, btrfs):
    user = btrfs.pw_name
    data, top = mount_point(wrappers, user), snap.top_point(wrappers, user)
    data_root, data_options = snap.mounted_subvolume(data)
    top_root, top_options = snap.mounted_subvolume(top)
    assert (data_root, top_root) == ("/data", "/")
    assert {"nodev", "nosuid", "noexec", "subvol=/data"} <= data_options
    assert {"nodev", "nosuid", "noexec", "subvolid=5", "ro"} <= top_options
    assert "rw" in data_options
    # The share shows only the data subvolume, which the user owns.
    assert os.listdir(data) == []
    assert os.stat(data).st_uid == btrfs.pw_uid
    assert sorted(os.listdir(top)) == ["data", "snapshots"]
    for path in (top, top / "snapshots"):
        info = os.lstat(path)
        assert (info.st_uid, stat.S_IMODE(info.st_mode) & 0o007) == (0, 0)
        acl = posix1e.ACL(file=str(path)).to_any_text(options=posix1e.TEXT_NUMERIC_IDS).decode()
        assert f"user:{btrfs.pw_uid}:r-x" in acl
    assert stat.S_IMODE(os.stat(top.parent).st_mode) == 0o755
    assert os.stat(top.parent).st_uid == 0

    # Samba's share includes this file (as %U.conf) for shadow_copy2.
    include = top.with_name(f"{user}.conf")
    assert include.read_text() == f"shadow:snapdir = {top}/snapshots\n"
    assert (os.stat(include).st_uid, stat.S_IMODE(os.stat(include).st_mode)) == (0, 0o644)

    ok(wrappers, "umount.py", user)
    assert not include.exists()
    assert mount_options(data) is None
    assert mount_options(top) is None
    assert not top.exists()
    ok(wrappers, "mount.py", user)
    assert snap.mounted_subvolume(data)[0] == "/data"
    assert snap.mounted_subvolume(top)[0] == "/"


@pytest.mark.parametrize("filesystem", ["ext4", "xfs"])
def test_ext4_and_xfs_volumes_answer_unsupported(wrappers, filesystem):
    with snap.volume(wrappers, filesystem=filesystem) as entry:
        user = entry.pw_name
        assert not snap.top_point(wrappers, user).exists()
        entry_listed = listed(wrappers, user)
        assert entry_listed["supported"] is False
        assert entry_listed["snapshots"] == []
        assert entry_listed["size_bytes"] > 0
        created = ok(wrappers, "snapshot-create.py", user)
        assert created["supported"] is False
        assert created["snapshot"] is None
        assert created["error"] is None
        pruned = ok(wrappers, "snapshot-prune.py", user)
        assert pruned == {"user": user, "supported": False, "pruned": [], "kept": 0}
        everyone = ok(wrappers, "snapshot-create.py")["volumes"]
        assert user not in everyone


def test_snapshots_measure_what_changed_without_naming_files(wrappers, btrfs):
    user = btrfs.pw_name
    data = mount_point(wrappers, user)
    marker = "secret-name-marker"
    snap.write_as(btrfs, data / f"{marker}-a", os.urandom(100_000))
    with snap.clock(wrappers, T0):
        first = ok(wrappers, "snapshot-create.py", user)
    assert first["snapshot"] == "@GMT-2026.03.02-00.00.00"
    assert (first["changed_bytes"], first["changed_files"]) == (None, None)
    assert first["error"] is None
    assert first["pruned"] == []

    sizes = [200_000, 300_000, 50]
    for number, size in enumerate(sizes):
        snap.write_as(btrfs, data / f"{marker}-new\n{number}", os.urandom(size))
    os.rename(data / f"{marker}-a", data / f"{marker}-renamed")
    with snap.clock(wrappers, "2026-03-02T01:00:00Z"):
        result = wrappers.run("snapshot-create.py")
    assert result.returncode == 0, result.stderr
    assert marker not in result.stdout
    second = json.loads(result.stdout)
    assert second["taken_at"] == "2026-03-02T01:00:00Z"
    mine = second["volumes"][user]
    assert mine["snapshot"] == "@GMT-2026.03.02-01.00.00"
    assert mine["changed_files"] == len(sizes)
    # Extents are whole 4 KiB blocks, a 50-byte file is stored inline.
    assert sum(sizes) <= mine["changed_bytes"] < sum(sizes) + len(sizes) * 4096
    assert mine["size_bytes"] > mine["used_bytes"] > sum(sizes)

    with snap.clock(wrappers, "2026-03-02T02:00:00Z"):
        unchanged = ok(wrappers, "snapshot-create.py", user)
    assert (unchanged["changed_bytes"], unchanged["changed_files"]) == (0, 0), unchanged
    assert names_in(wrappers, user) == [
        "@GMT-2026.03.02-00.00.00",
        "@GMT-2026.03.02-01.00.00",
        "@GMT-2026.03.02-02.00.00",
    ]
    # Each snapshot is read-only and holds the data as it was.
    folder = snap.snapshot_folder(wrappers, user)
    assert sorted(os.listdir(folder / "@GMT-2026.03.02-00.00.00")) == [f"{marker}-a"]
    assert len(os.listdir(folder / "@GMT-2026.03.02-01.00.00")) == 4
    with pytest.raises(OSError, match="Read-only file system"):
        (folder / "@GMT-2026.03.02-01.00.00" / "new").write_bytes(b"x")


def test_the_same_second_twice_is_reported_not_overwritten(wrappers, btrfs):
    user = btrfs.pw_name
    with snap.clock(wrappers, T0):
        ok(wrappers, "snapshot-create.py", user)
        before = names_in(wrappers, user)
        line = refused(wrappers, "snapshot-create.py", user)
        assert "already taken" in line
        everyone = ok(wrappers, "snapshot-create.py")["volumes"][user]
    assert everyone["snapshot"] is None
    assert everyone["supported"] is True
    assert "already taken" in everyone["error"]
    assert names_in(wrappers, user) == before


def test_list_reports_protection_oldest_first(wrappers, btrfs):
    user = btrfs.pw_name
    for when in ("2026-03-02T00:00:00Z", "2026-03-01T12:00:00Z"):
        with snap.clock(wrappers, when):
            ok(wrappers, "snapshot-create.py", user)
    with snap.clock(wrappers, "2026-03-15T06:00:00Z"):
        volume = listed(wrappers, user)
        everyone = ok(wrappers, "snapshot-list.py")["volumes"]
    assert everyone[user] == volume
    assert volume["supported"] is True
    # Nothing changed between them: each holds next to nothing on its own.
    for entry in volume["snapshots"]:
        assert 0 <= entry.pop("exclusive_bytes") < 1 << 20
    assert volume["snapshots"] == [
        {
            "name": "@GMT-2026.03.01-12.00.00",
            "taken_at": "2026-03-01T12:00:00Z",
            "protected_until": "2026-03-15T12:00:00Z",
            "protected": True,
        },
        {
            "name": "@GMT-2026.03.02-00.00.00",
            "taken_at": "2026-03-02T00:00:00Z",
            "protected_until": "2026-03-16T00:00:00Z",
            "protected": True,
        },
    ]
    with snap.clock(wrappers, "2026-03-15T12:00:00Z"):
        flags = [s["protected"] for s in listed(wrappers, user)["snapshots"]]
    assert flags == [False, True]


def test_list_says_how_much_the_snapshots_hold(wrappers, btrfs):
    """What a rewritten file costs: the old copy stays in the snapshot, which
    then holds it alone; deleting the snapshots would give it back."""
    user = btrfs.pw_name
    data = mount_point(wrappers, user)
    size = 8 << 20
    snap.write_as(btrfs, data / "file", os.urandom(size))
    with snap.clock(wrappers, T0):
        ok(wrappers, "snapshot-create.py", user)
    before = listed(wrappers, user)
    assert before["snapshot_bytes"] < 1 << 20  # shares everything with the data
    assert listed(wrappers, user)["snapshots"][0]["exclusive_bytes"] < 1 << 20
    snap.write_as(btrfs, data / "file", os.urandom(size))  # ransomware-style rewrite
    with snap.clock(wrappers, "2026-03-02T01:00:00Z"):
        after = listed(wrappers, user)
    (old,) = after["snapshots"]
    assert size <= old["exclusive_bytes"] < size + (1 << 20)
    assert size <= after["snapshot_bytes"] < size + (4 << 20)


def test_retention_and_protection_over_simulated_time(wrappers, btrfs):
    """One day's protection, two hours and two days of retention, a
    snapshot every six hours for three days (see the hand count below)."""
    user = btrfs.pw_name
    policy = {
        "SNAPSHOT_PROTECTION_DAYS": 1,
        "SNAPSHOT_RETENTION": {"hourly": 2, "daily": 2, "weekly": 0, "monthly": 0},
    }
    times = [f"2026-03-0{day}T{hour:02d}:00:00Z" for day in (1, 2, 3) for hour in (0, 6, 12, 18)]
    try:
        for when in times:
            snap.set_clock(wrappers, when, **policy)
            result = ok(wrappers, "snapshot-create.py", user)
            assert result["error"] is None
        # At day 3 18:00: day 3's four are protected; the newest of day 2
        # and of day 1 (18:00, inside the two-day window) are kept by daily.
        assert names_in(wrappers, user) == [
            "@GMT-2026.03.01-18.00.00",
            "@GMT-2026.03.02-18.00.00",
            "@GMT-2026.03.03-00.00.00",
            "@GMT-2026.03.03-06.00.00",
            "@GMT-2026.03.03-12.00.00",
            "@GMT-2026.03.03-18.00.00",
        ]
        # A day and an hour later nothing is protected: daily keeps day 3's
        # newest, which is also the newest of all.
        snap.set_clock(wrappers, "2026-03-04T19:00:00Z", **policy)
        pruned = ok(wrappers, "snapshot-prune.py", user)
        assert pruned["pruned"] == [
            "@GMT-2026.03.01-18.00.00",
            "@GMT-2026.03.02-18.00.00",
            "@GMT-2026.03.03-00.00.00",
            "@GMT-2026.03.03-06.00.00",
            "@GMT-2026.03.03-12.00.00",
        ]
        assert pruned["kept"] == 1
        assert names_in(wrappers, user) == ["@GMT-2026.03.03-18.00.00"]
    finally:
        wrappers.write_local_settings()


def test_protected_snapshots_survive_prune_and_block_lvremove(wrappers, btrfs):
    user = btrfs.pw_name
    # Hourly snapshots: every one is protected for the protection days (at
    # shorter intervals only each hour's first is: test_snapshot_retention).
    policy = {
        "SNAPSHOT_INTERVAL_MINUTES": 60,
        "SNAPSHOT_RETENTION": {"hourly": 0, "daily": 0, "weekly": 0, "monthly": 0},
    }
    try:
        for when in (T0, "2026-03-02T00:10:00Z", "2026-03-02T00:20:00Z"):
            snap.set_clock(wrappers, when, **policy)
            assert ok(wrappers, "snapshot-create.py", user)["pruned"] == []
        snap.set_clock(wrappers, "2026-03-16T00:05:00Z", **policy)
        pruned = ok(wrappers, "snapshot-prune.py", user)
        # Past its 14 days the first goes; the others are protected, and the
        # newest would be kept anyway.
        assert pruned["pruned"] == ["@GMT-2026.03.02-00.00.00"]
        assert pruned["kept"] == 2
        ok(wrappers, "umount.py", user)
        line = refused(wrappers, "lvremove.py", user)
        assert "protected until 2026-03-16T00:20:00Z" in line
        assert snap.top_point(wrappers, user).exists() is False
        snap.set_clock(wrappers, "2026-03-16T00:20:00Z", **policy)
        ok(wrappers, "lvremove.py", user)
    finally:
        wrappers.write_local_settings()


def test_an_older_btrfs_volume_without_the_layout_is_mounted_whole(wrappers):
    """A btrfs volume formatted before snapshots existed keeps working
    (one holding the user's files: an empty one gets the layout, as a
    stopped mkfs-btrfs.py leaves it)."""
    with snap.volume(wrappers, filesystem="ext4") as entry:
        user = entry.pw_name
        ok(wrappers, "umount.py", user)
        image = Path(wrappers.settings["LOOPFILE_POOL"]) / f"{user}.img"
        subprocess.run(["wipefs", "-a", "-q", str(image)], check=True)
        subprocess.run(["mkfs.btrfs", "-q", "-f", str(image)], check=True, capture_output=True)
        subprocess.run(
            ["/usr/bin/mount", "-o", "loop", str(image), str(mount_point(wrappers, user))],
            check=True,
        )
        (mount_point(wrappers, user) / "a backup").mkdir()
        subprocess.run(["/usr/bin/umount", "-d", str(mount_point(wrappers, user))], check=True)
        ok(wrappers, "mount.py", user)
        assert snap.mounted_subvolume(mount_point(wrappers, user))[0] == "/"
        assert mount_options(snap.top_point(wrappers, user)) is None
        assert listed(wrappers, user)["supported"] is False


def test_the_measure_tells_destruction_from_new_data_whatever_the_names(wrappers, btrfs):
    """Hostile names (a newline forging a send-stream dump line, bytes that
    are not UTF-8, 255 bytes long) are only bytes to the measure: every
    figure is exact, and no name reaches the output."""
    user = btrfs.pw_name
    data = os.fsencode(mount_point(wrappers, user))
    forged = b"x\nunlink          victim\nrename          a  dest=b"
    names = {
        "overwritten": b"docs/" + forged,
        "truncated": b"docs/\xff\xfe not utf-8",
        "deleted": b"docs/" + b"d" * 255,
        "renamed": b"docs/report.docx",
        "kept": b"docs/kept.txt",
    }
    os.makedirs(os.path.join(data, b"docs", b"deep", b"deeper"))
    for index, name in enumerate(names.values()):
        with open(os.path.join(data, name), "wb") as handle:
            handle.write(os.urandom(100_000 + index))
    with open(os.path.join(data, b"docs/deep/deeper/old.bin"), "wb") as handle:
        handle.write(os.urandom(50_000))
    with snap.clock(wrappers, T0):
        ok(wrappers, "snapshot-create.py", user)

    with open(os.path.join(data, names["overwritten"]), "r+b") as handle:
        handle.write(os.urandom(60_000))
    os.truncate(os.path.join(data, names["truncated"]), 1_000)
    os.remove(os.path.join(data, names["deleted"]))
    os.rename(os.path.join(data, names["renamed"]), os.path.join(data, b"docs/report.docx.locked"))
    # A folder moved (its file unchanged) and then deleted with its file.
    os.rename(os.path.join(data, b"docs/deep"), os.path.join(data, b"moved\n"))
    os.remove(os.path.join(data, b"moved\n/deeper/old.bin"))
    for folder in range(6):
        os.makedirs(os.path.join(data, b"new%d" % folder))
        with open(os.path.join(data, b"new%d/READ ME.txt" % folder), "wb") as handle:
            handle.write(b"pay\n")
    # What Windows leaves in every folder is no ransom note.
    for folder in range(8):
        os.makedirs(os.path.join(data, b"shown%d" % folder))
        with open(os.path.join(data, b"shown%d/desktop.ini" % folder), "wb") as handle:
            handle.write(b"[.ShellClassInfo]\n")
    with snap.clock(wrappers, "2026-03-02T01:00:00Z"):
        result = wrappers.run("snapshot-create.py", user)
    assert result.returncode == 0, result.stderr
    for fragment in ("unlink", "utf-8", "ddddd", "report", "READ ME", "moved", "old.bin"):
        assert fragment not in result.stdout
    change = json.loads(result.stdout)["change"]
    assert change == {
        "base": "@GMT-2026.03.02-00.00.00",
        "held_bytes": change["held_bytes"],
        "complete": True,
        "new_files": 6 + 8,
        "new_bytes": 6 * 4 + 8 * 18,
        "overwritten_files": 1,
        "overwritten_bytes": 61_440,  # whole 4 KiB blocks: 15 of them
        "truncated_files": 1,
        "truncated_bytes": 100_001 - 1_000,
        "deleted_files": 2,
        "deleted_bytes": 100_002 + 50_000,
        "renamed_files": 2,  # the file and the folder
        "renamed_to_one_extension": 1,
        "note_folders": 6,
    }
    assert 5 * 100_000 < change["held_bytes"] < 5 * 100_000 + 200_000


def two_snapshots_with_files_deleted(wrappers, user, count):
    """Paths of two snapshots of user's volume, the second taken after
    ``count`` files of the first were deleted (the volume holds no other)."""
    data = mount_point(wrappers, user)
    for number in range(count):
        (data / f"f{number}").write_bytes(os.urandom(5000))
    with snap.clock(wrappers, T0):
        ok(wrappers, "snapshot-create.py", user)
    for number in range(count):
        (data / f"f{number}").unlink()
    with snap.clock(wrappers, "2026-03-02T01:00:00Z"):
        ok(wrappers, "snapshot-create.py", user)
    folder = snap.snapshot_folder(wrappers, user)
    return tuple(str(folder / name) for name in names_in(wrappers, user))


def test_a_bounded_measure_stops_and_says_so(wrappers, btrfs, monkeypatch):
    """Past its time or its entries the measure stops the sender and gives
    what it counted as a lower bound (complete: false), never more."""
    import time

    from wrapperlib import btrfs_changes

    base, new = two_snapshots_with_files_deleted(wrappers, btrfs.pw_name, 50)
    whole = btrfs_changes.measure(base, new, time.monotonic() + 60, 10**6)
    assert (whole["complete"], whole["deleted_files"]) == (True, 50)
    cut = btrfs_changes.measure(base, new, time.monotonic() + 60, 10)
    assert cut["complete"] is False
    assert cut["deleted_files"] < 50
    late = btrfs_changes.measure(base, new, time.monotonic() - 1, 10**6)
    assert late["complete"] is False
    monkeypatch.setattr(btrfs_changes, "MAX_ENTRIES", 5)
    small = btrfs_changes.measure(base, new, time.monotonic() + 60, 10**6)
    assert small["complete"] is False
    assert small["deleted_files"] <= 6


def test_a_deadline_that_strikes_after_the_end_keeps_a_whole_measure(wrappers, btrfs, monkeypatch):
    """The watchdog's kill landing after the stream's END was read (the
    sender was only exiting) is not a failed sender: the measure is whole.
    The deadline is made to strike exactly then."""
    import threading
    import time

    from wrapperlib import btrfs_changes, send_stream

    base, new = two_snapshots_with_files_deleted(wrappers, btrfs.pw_name, 20)

    timers = []

    class DeadlineOnCue:
        def __init__(self, interval, function):
            self.function = function
            timers.append(self)

        def start(self):
            pass

        def cancel(self):
            pass

    read_to_end = send_stream.commands

    def then_the_deadline(stream):
        yield from read_to_end(stream)
        timers[-1].function()

    monkeypatch.setattr(threading, "Timer", DeadlineOnCue)
    monkeypatch.setattr(send_stream, "commands", then_the_deadline)
    measured = btrfs_changes.measure(base, new, time.monotonic() + 60, 10**6)
    assert (measured["complete"], measured["deleted_files"]) == (True, 20)


def test_low_space_takes_the_finest_grained_first_and_the_monthly_ones_last(wrappers, btrfs):
    """The issue's run pruned the only November snapshot among the first:
    with free space short, snapshot-prune.py now deletes the ones only the
    15-minute and hourly retention keep before the daily and weekly ones,
    and the monthly ones last; never a protected one, never the newest.
    (Each deletion waits for btrfs to free the space, up to a commit
    interval: test_snapshot_retention orders every kind without btrfs.)"""
    user = btrfs.pw_name
    policy = {
        "SNAPSHOT_PROTECTION_DAYS": 0,
        "SNAPSHOT_INTERVAL_MINUTES": 15,
        "SNAPSHOT_RETENTION": {"frequent": 2, "hourly": 2, "daily": 2, "weekly": 1, "monthly": 3},
    }
    taken = [
        "2026-11-20T09:05:00Z",  # the only November one: monthly
        "2027-01-04T08:05:00Z",  # hourly
        "2027-01-04T09:05:00Z",  # frequent only (hour 9's newest is later)
        "2027-01-04T09:20:00Z",  # frequent, protected for two intervals
        "2027-01-04T09:35:00Z",  # the newest
    ]
    try:
        for when in taken:
            snap.set_clock(wrappers, when, **policy)
            assert ok(wrappers, "snapshot-create.py", user)["pruned"] == []
        assert len(names_in(wrappers, user)) == len(taken)
        snap.set_clock(wrappers, "2027-01-04T09:36:00Z", SNAPSHOT_MIN_FREE_PERCENT=100, **policy)
        pruned = ok(wrappers, "snapshot-prune.py", user)
        assert pruned["pruned"] == [
            "@GMT-2027.01.04-09.05.00",
            "@GMT-2027.01.04-08.05.00",
            "@GMT-2026.11.20-09.05.00",
        ]
        assert names_in(wrappers, user) == [
            "@GMT-2027.01.04-09.20.00",
            "@GMT-2027.01.04-09.35.00",
        ]
    finally:
        wrappers.write_local_settings()
