"""Subvolumes a backup account makes inside its own volume.

``btrfs subvolume create`` needs no privilege, so the account can make
subvolumes (nested ones too) anywhere in its data. Snapshots don't descend
into them (a snapshot holds an empty folder in their place); a whole-volume
rollback once failed on them ("Directory not empty") half-way, adding a
protected snapshot at every attempt. Here: snapshot, rollback (twice),
restore and destruction all work with them, and nothing is left behind."""

import os
import subprocess
from pathlib import Path

import pytest

from support import snapshots as snap
from support.storage import mount_options, mount_point, ok

pytestmark = pytest.mark.root

BEFORE = "2026-03-02T08:00:00Z"
WITH_NESTED = "2026-03-02T09:00:00Z"
ROLLBACK = "2026-03-02T10:00:00Z"
AGAIN = "2026-03-02T11:00:00Z"
LATER = "2026-04-01T00:00:00Z"


def names(wrappers, user):
    listed = ok(wrappers, "snapshot-list.py", user)["volumes"][user]["snapshots"]
    return [s["name"] for s in listed]


def make_nested(wrappers, entry, name="inner"):
    share = mount_point(wrappers, entry.pw_name)
    for path in (name, f"{name}/deeper"):
        made = snap.as_user(entry, ["/usr/bin/btrfs", "subvolume", "create", str(share / path)])
        assert made.returncode == 0, made.stderr
    snap.write_as(entry, share / name / "in-inner.txt", b"inner\n")
    snap.write_as(entry, share / name / "deeper" / "in-deeper.txt", b"deeper\n")
    assert os.stat(share / name).st_ino == 256


def test_snapshot_rollback_restore_and_removal_with_nested_subvolumes(wrappers):
    with snap.volume(wrappers) as entry:
        user = entry.pw_name
        share, top = mount_point(wrappers, user), snap.top_point(wrappers, user)
        snap.write_as(entry, share / "before.txt", b"before\n")
        with snap.clock(wrappers, BEFORE):
            first = ok(wrappers, "snapshot-create.py", user)["snapshot"]
        make_nested(wrappers, entry)
        with snap.clock(wrappers, WITH_NESTED):
            second = ok(wrappers, "snapshot-create.py", user)
        assert second["error"] is None
        # The snapshot holds an empty folder where the subvolume was.
        assert os.listdir(top / "snapshots" / second["snapshot"] / "inner") == []

        with snap.clock(wrappers, ROLLBACK):
            rolled = ok(wrappers, "snapshot-rollback.py", user, first)
        assert sorted(os.listdir(share)) == ["before.txt"]
        assert sorted(os.listdir(top)) == ["data", "snapshots"]
        assert names(wrappers, user) == [first, second["snapshot"], rolled["kept_as"]]

        # Again, with a nested subvolume made after the rollback: one more
        # snapshot (the state kept), not one per failed attempt.
        make_nested(wrappers, entry)
        with snap.clock(wrappers, AGAIN):
            again = ok(wrappers, "snapshot-rollback.py", user, second["snapshot"])
        assert sorted(os.listdir(share)) == ["before.txt", "inner"]
        assert os.listdir(share / "inner") == []
        assert len(names(wrappers, user)) == 4
        assert again["kept_as"] in names(wrappers, user)
        listed = subprocess.run(
            ["btrfs", "subvolume", "list", str(top)], capture_output=True, text=True, check=True
        ).stdout
        assert "data.rollback" not in listed

        # Restore from the snapshot that has the empty folder.
        with snap.clock(wrappers, AGAIN):
            restored = ok(wrappers, "snapshot-restore.py", user, second["snapshot"], ".")
        assert sorted(os.listdir(share / restored["restored_to"])) == ["before.txt", "inner"]

        # Destruction: with a nested subvolume in data, once protection ended.
        make_nested(wrappers, entry, "another")
        ok(wrappers, "umount.py", user)
        assert mount_options(share) is None
        with snap.clock(wrappers, LATER):
            ok(wrappers, "lvremove.py", user)
        assert ok(wrappers, "lvdisplay.py", user)["volume"] is None
        assert not Path(wrappers.settings["LOOPFILE_POOL"], f"{user}.img").exists()
