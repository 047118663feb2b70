"""The whole life of a volume on the loopfile backend, for real, as root:
create, format (ext4, btrfs, xfs), mount, own, ACLs, a file written by the
user, grow (online, or offline for ext4 where the kernel refuses), unmount,
remove; and every refusal of those wrappers leaving everything as it was."""

import contextlib
import os
import subprocess

import posix1e
import pytest
from conftest import require_tool

from support import wrapper_install
from support.storage import (
    GIB,
    backup_account,
    clean_volume,
    image,
    loops_of,
    mount_options,
    mount_point,
    ok,
    refused,
    state,
)

pytestmark = pytest.mark.root

MKFS_TOOL = {"ext4": "mkfs.ext4", "btrfs": "mkfs.btrfs", "xfs": "mkfs.xfs"}


def _cap_sys_resource():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> 24 & 1)
    return False


@pytest.fixture
def account(wrappers):
    with backup_account(wrappers) as entry:
        try:
            yield entry
        finally:
            clean_volume(wrappers, entry.pw_name)


@pytest.fixture
def mounted(wrappers, account):
    """account's 1 GiB ext4 volume, formatted, mounted and owned."""
    user = account.pw_name
    ok(wrappers, "lvcreate.py", user, "1")
    ok(wrappers, "mkfs-ext4.py", user)
    ok(wrappers, "mkdir.py", user)
    ok(wrappers, "mount.py", user)
    ok(wrappers, "chown.py", user)
    return account


def _as_user(account, argv, **kwargs):
    return subprocess.run(
        argv,
        user=account.pw_uid,
        group=account.pw_gid,
        extra_groups=[],
        capture_output=True,
        text=True,
        check=False,
        **kwargs,
    )


def _size(wrappers, user):
    (usage,) = ok(wrappers, "df.py", user)["volumes"]
    return usage["size_bytes"]


@pytest.mark.parametrize("fstype", ["ext4", "btrfs", "xfs"])
def test_volume_lifecycle(wrappers, account, fstype):
    require_tool(MKFS_TOOL[fstype])
    user, uid = account.pw_name, account.pw_uid
    path, point = image(wrappers, user), mount_point(wrappers, user)

    assert ok(wrappers, "lvcreate.py", user, "1") == {"user": user, "size_bytes": GIB}
    info = path.stat()
    assert info.st_size == GIB
    assert info.st_blocks * 512 < GIB // 100, "the image is not sparse"
    assert loops_of(path) == []

    assert ok(wrappers, "mkfs-" + fstype + ".py", user) == {"user": user, "filesystem": fstype}
    assert loops_of(path) == [], "the loop device used by mkfs was not released"

    ok(wrappers, "mkdir.py", user)
    mounted = ok(wrappers, "mount.py", user)
    assert mounted["filesystem"] == fstype
    assert mounted["mount_point"] == str(point)
    assert loops_of(path) == [mounted["device"]]
    assert {"nodev", "nosuid", "noexec"} <= mount_options(point)

    ok(wrappers, "chown.py", user)
    ok(wrappers, "chmod.py", user)
    ok(wrappers, "setfacl.py", user)
    root = os.stat(point)
    assert (root.st_uid, root.st_gid) == (uid, account.pw_gid)
    for kind in (posix1e.ACL(file=str(point)), posix1e.ACL(filedef=str(point))):
        text = kind.to_any_text(options=posix1e.TEXT_NUMERIC_IDS).decode()
        assert set(text.split()) == {
            "user::rwx",
            f"user:{uid}:rwx",
            "group::---",
            "mask::rwx",
            "other::---",
        }

    written = _as_user(account, ["tee", str(point / "backup.dat")], input="some backup\n")
    assert written.returncode == 0, written.stderr
    made = os.stat(point / "backup.dat")
    assert made.st_uid == uid
    inherited = posix1e.ACL(file=str(point / "backup.dat"))
    entries = set(inherited.to_any_text(options=posix1e.TEXT_NUMERIC_IDS).decode().split())
    assert f"user:{uid}:rwx" in entries
    assert "other::---" in entries
    assert "group::---" in entries

    listed = ok(wrappers, "lvdisplay.py", user)["volume"]
    assert listed == {
        "user": user,
        "size_bytes": GIB,
        "device": mounted["device"],
        "mount_point": str(point),
        "mounted": True,
        "filesystem": fstype,
    }
    inventory = ok(wrappers, "lvdisplay.py")
    assert inventory["backend"] == "loopfile"
    assert listed in inventory["volumes"]
    (device,) = [d for d in ok(wrappers, "dmsetup.py")["devices"] if d["user"] == user]
    assert device["device"] == mounted["device"]
    assert device["name"] == os.path.basename(mounted["device"])
    assert os.stat(mounted["device"]).st_rdev == os.makedev(device["major"], device["minor"])

    before = _size(wrappers, user)
    assert before <= GIB
    grown = ok(wrappers, "lvextend.py", user, "2")
    expected = "online" if fstype != "ext4" or _cap_sys_resource() else "offline"
    assert grown == {
        "user": user,
        "old_size_bytes": GIB,
        "size_bytes": 2 * GIB,
        "filesystem": fstype,
        "grown": expected,
    }
    assert path.stat().st_size == 2 * GIB
    after = _size(wrappers, user)
    assert after > before + GIB // 2, (before, after)
    assert (point / "backup.dat").read_text() == "some backup\n"
    assert mount_options(point) is not None, "the volume was not mounted again"

    if fstype == "btrfs":
        scrub = ok(wrappers, "scrub-btrfs.py", user)
        assert scrub["errors"] == 0
        assert scrub["summary"].startswith("no errors found; ")
        assert not scrub["summary"].endswith("; 0 bytes checked")
        assert ok(wrappers, "defragment-btrfs.py", user)["user"] == user
    else:
        assert "not btrfs" in refused(wrappers, "scrub-btrfs.py", user)

    assert ok(wrappers, "umount.py", user) == {"user": user, "was_mounted": True}
    assert mount_options(point) is None
    assert loops_of(path) == [], "umount.py did not release the loop device"
    assert ok(wrappers, "lvdisplay.py", user)["volume"]["mounted"] is False
    assert ok(wrappers, "lvremove.py", user) == {"user": user}
    assert ok(wrappers, "rmdir.py", user) == {"user": user}
    assert not path.exists()
    assert not point.exists()
    assert ok(wrappers, "lvdisplay.py", user) == {"volume": None}
    left = wrapper_install.leftovers(wrappers)
    assert not [m for m in left["mounts"] if m == str(point)]
    assert loops_of(path) == []


def test_ext4_grows_offline_when_unmounted_and_resize2fs_alone(wrappers, account):
    user = account.pw_name
    ok(wrappers, "lvcreate.py", user, "1")
    ok(wrappers, "mkfs-ext4.py", user)
    # Not mounted: growing is offline, on a loop device attached for it.
    assert ok(wrappers, "lvextend.py", user, "2")["grown"] == "offline"
    assert loops_of(image(wrappers, user)) == []
    ok(wrappers, "mkdir.py", user)
    ok(wrappers, "mount.py", user)
    assert _size(wrappers, user) > 3 * GIB // 2
    grown = ok(wrappers, "resize2fs.py", user)
    assert grown["filesystem"] == "ext4"
    assert grown["grown"] in ("online", "offline")


def test_busy_volume_is_neither_grown_offline_nor_unmounted(wrappers, mounted):
    user = mounted.pw_name
    point = mount_point(wrappers, user)
    size_before = _size(wrappers, user)
    with open(point / "open-during-backup", "w") as held:
        held.write("a backup is writing this\n")
        held.flush()
        before = state(wrappers, user)
        assert "the volume is in use; try again when your backup is not running" in refused(
            wrappers, "umount.py", user
        )
        assert state(wrappers, user) == before
        if _cap_sys_resource():
            pytest.skip("this kernel grows ext4 online: there is no offline path to refuse")
        assert "the volume is in use; try again when your backup is not running" in refused(
            wrappers, "lvextend.py", user, "2"
        )
        assert state(wrappers, user) == before
        assert "in use" in refused(wrappers, "resize2fs.py", user)
        assert state(wrappers, user) == before
        assert _size(wrappers, user) == size_before
    assert ok(wrappers, "lvextend.py", user, "2")["grown"] == "offline"


def test_state_refusals_change_nothing(wrappers, account):
    user = account.pw_name
    point = mount_point(wrappers, user)

    def unchanged(name, *args, says):
        before = state(wrappers, user)
        assert says in refused(wrappers, name, user, *args)
        assert state(wrappers, user) == before

    unchanged("lvextend.py", "2", says="has no volume")
    unchanged("mkfs-ext4.py", says="has no volume")
    unchanged("lvremove.py", says="has no volume")
    unchanged("lvcreate.py", "21", says="not enough free space in the pool")
    unchanged("lvcreate.py", "4097", says="over the maximum")
    unchanged("lvcreate.py", "0", says="invalid size")
    ok(wrappers, "lvcreate.py", user, "1")
    unchanged("lvcreate.py", "1", says="already has a volume")
    unchanged("lvextend.py", "1", says="volumes never shrink")
    unchanged("lvextend.py", "25", says="not enough free space in the pool")
    unchanged("lvextend.py", "4097", says="over the maximum")
    unchanged("mount.py", says="does not exist; create it first")
    ok(wrappers, "mkdir.py", user)
    unchanged("mount.py", says="has no filesystem yet")
    ok(wrappers, "mkfs-ext4.py", user)
    for other in ("mkfs-ext4.py", "mkfs-btrfs.py", "mkfs-xfs.py"):
        unchanged(other, says="already holds a ext4 signature")
    for name in ("chown.py", "chmod.py", "setfacl.py", "defragment-btrfs.py", "scrub-btrfs.py"):
        unchanged(name, says="is not mounted")
    ok(wrappers, "mount.py", user)
    unchanged("mount.py", says="already mounted")
    unchanged("lvremove.py", says="is mounted; unmount it first")
    unchanged("rmdir.py", says="still mounted")
    unchanged("mkfs-xfs.py", says="is mounted")
    ok(wrappers, "umount.py", user)
    # Idempotent: nothing mounted, nothing attached, nothing to do.
    assert ok(wrappers, "umount.py", user) == {"user": user, "was_mounted": False}
    (point / "stray").write_text("")
    unchanged("rmdir.py", says="is not empty")
    (point / "stray").unlink()


def test_symlinked_mount_point_is_never_followed(wrappers, account, tmp_path):
    user = account.pw_name
    point = mount_point(wrappers, user)
    ok(wrappers, "lvcreate.py", user, "1")
    ok(wrappers, "mkfs-ext4.py", user)
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o755)
    point.symlink_to(target)
    target_before = os.stat(target)
    before = state(wrappers, user)
    for name in ("mount.py", "chown.py", "chmod.py", "setfacl.py", "rmdir.py", "umount.py"):
        assert "is not a directory" in refused(wrappers, name, user)
    assert state(wrappers, user) == before
    after = os.stat(target)
    assert (after.st_uid, after.st_mode) == (target_before.st_uid, target_before.st_mode)
    assert posix1e.ACL(filedef=str(target)).to_any_text() == b""
    assert mount_options(target) is None


def test_boot_mounts_every_unmounted_volume(wrappers):
    with contextlib.ExitStack() as stack:
        users = []
        for _ in range(2):
            entry = stack.enter_context(backup_account(wrappers))
            stack.callback(clean_volume, wrappers, entry.pw_name)
            users.append(entry.pw_name)
        for user in users:
            ok(wrappers, "lvcreate.py", user, "1")
            ok(wrappers, "mkfs-ext4.py", user)
            ok(wrappers, "mkdir.py", user)
        ok(wrappers, "mount.py", users[0])
        result = ok(wrappers, "mount.py")
        assert users[1] in result["mounted"]
        assert users[0] not in result["mounted"]
        assert users[0] not in result["failed"]
        for user in users:
            assert mount_options(mount_point(wrappers, user)) is not None
        usage = {u["user"]: u for u in ok(wrappers, "df.py")["volumes"]}
        for user in users:
            assert 0 < usage[user]["used_bytes"] < usage[user]["size_bytes"] <= GIB
            assert usage[user]["inodes_total"] > 0
        pool = ok(wrappers, "vgdisplay.py")
        assert pool["backend"] == "loopfile"
        assert pool["size_bytes"] == wrappers.settings["LOOPFILE_POOL_SIZE_GIB"] * GIB
        assert pool["allocated_bytes"] >= 2 * GIB
        assert pool["free_bytes"] <= pool["size_bytes"] - pool["allocated_bytes"]
