"""Root never follows a link in, or writes through, a path it keeps for a
volume: each path the wrappers write or mount at, with a link planted
there pointing at a victim, leaves the victim as it was.

The paths are root's (SNAPSHOTS_ROOT, LOCK_DIR, STATE_DIR are root-only),
so a link there means an earlier compromise or a careless administrator:
it is never followed, whatever put it there."""

import os
from pathlib import Path

import pytest

from support import snapshots as snap
from support.storage import mount_options, mount_point, ok, refused

pytestmark = pytest.mark.root

TAKEN = "2026-03-02T08:00:00Z"


@pytest.fixture
def victim(tmp_path):
    os.chmod(tmp_path, 0o755)
    target = tmp_path / "victim"
    target.mkdir()
    (target / "file").write_text("untouched\n")
    (tmp_path / "victim.txt").write_text("untouched\n")
    return tmp_path


def unchanged(victim):
    assert (victim / "victim.txt").read_text() == "untouched\n"
    assert os.stat(victim / "victim.txt").st_mode & 0o777 == 0o644
    assert os.listdir(victim / "victim") == ["file"]
    assert mount_options(victim / "victim") is None


def test_the_samba_include_and_its_temporary(wrappers, victim):
    with snap.volume(wrappers) as entry:
        user = entry.pw_name
        ok(wrappers, "umount.py", user)
        root = Path(wrappers.settings["SNAPSHOTS_ROOT"])
        for name in (f"{user}.conf", f".{user}.conf.new"):
            (root / name).symlink_to(victim / "victim.txt")
        ok(wrappers, "mount.py", user)
        unchanged(victim)
        include = root / f"{user}.conf"
        assert not include.is_symlink()
        assert include.read_text().startswith("shadow:snapdir = ")


def test_the_private_mount_point(wrappers, victim):
    with snap.volume(wrappers) as entry:
        user = entry.pw_name
        point = Path(wrappers.settings["LOCK_DIR"]) / f"mnt-{user}"
        point.symlink_to(victim / "victim")
        with snap.clock(wrappers, TAKEN):
            assert ok(wrappers, "snapshot-create.py", user)["snapshot"]
        unchanged(victim)
        assert not point.is_symlink()
        assert not point.exists()


@pytest.mark.parametrize("kind", ["intent", "suspended"])
def test_the_records(wrappers, victim, kind):
    with snap.volume(wrappers) as entry:
        user = entry.pw_name
        directory = "LOCK_DIR" if kind == "intent" else "STATE_DIR"
        record = Path(wrappers.settings[directory]) / f"{kind}-{user}"
        record.symlink_to(victim / "victim.txt")
        try:
            assert "unsafe record" in refused(wrappers, "suspend.py", user)
            unchanged(victim)
            assert mount_options(mount_point(wrappers, user)) is not None
        finally:
            record.unlink()
        ok(wrappers, "suspend.py", user)
        ok(wrappers, "resume.py", user)
        unchanged(victim)


def test_the_mount_point_and_the_top_level_point(wrappers, victim):
    with snap.volume(wrappers) as entry:
        user = entry.pw_name
        ok(wrappers, "umount.py", user)
        ok(wrappers, "rmdir.py", user)
        point = mount_point(wrappers, user)
        point.symlink_to(victim / "victim")
        try:
            assert "not a directory" in refused(wrappers, "mkdir.py", user)
            assert "not a directory" in refused(wrappers, "mount.py", user)
            unchanged(victim)
        finally:
            point.unlink()
        ok(wrappers, "mkdir.py", user)
        assert os.stat(point).st_mode & 0o777 == 0o755
        top = snap.top_point(wrappers, user)
        top.symlink_to(victim / "victim")
        try:
            assert "not a directory of root's" in refused(wrappers, "mount.py", user)
            unchanged(victim)
        finally:
            top.unlink()
        ok(wrappers, "mount.py", user)
        assert snap.mounted_subvolume(point)[0] == "/data"
