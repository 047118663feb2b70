"""The lvm backend against real LVM: a volume group on a loop-device PV,
with activation off since this kernel has no device-mapper (the wrappers
then pass --driverloaded n and create volumes inactive, unzeroed)."""

import pytest
from conftest import require_tool

from support.lvm import loop_volume_group, lvm
from support.storage import GIB, backup_account, ok, refused

pytestmark = pytest.mark.root


@pytest.fixture
def volume_group(wrappers):
    """A private VG, and the session's wrappers switched to it meanwhile."""
    require_tool("lvcreate")
    with loop_volume_group(size_gib=8) as group:
        wrappers.write_local_settings(BACKEND="lvm", VOLUME_GROUP=group.name, LVM_ACTIVATION=False)
        try:
            yield group
        finally:
            # The installation is shared by the session: give it back as it was.
            wrappers.write_local_settings()


@pytest.fixture
def users(wrappers):
    with backup_account(wrappers) as first, backup_account(wrappers) as second:
        yield first.pw_name, second.pw_name


def test_create_extend_list_remove(wrappers, volume_group, users):
    alice, bob = users
    empty = ok(wrappers, "vgdisplay.py")
    assert empty["backend"] == "lvm"
    assert empty["name"] == volume_group.name
    assert empty["volume_count"] == 0
    assert empty["allocated_bytes"] == 0
    assert 7 * GIB < empty["free_bytes"] == empty["size_bytes"] <= 8 * GIB

    assert ok(wrappers, "lvcreate.py", alice, "2") == {"user": alice, "size_bytes": 2 * GIB}
    assert ok(wrappers, "lvcreate.py", bob, "1") == {"user": bob, "size_bytes": GIB}
    assert volume_group.lv_sizes() == {alice: 2 * GIB, bob: GIB}
    active = lvm("lvs", "--noheadings", "-o", "lv_active", f"{volume_group.name}/{alice}")
    assert active.stdout.strip() != "active"

    pool = ok(wrappers, "vgdisplay.py")
    assert pool["volume_count"] == 2
    assert pool["allocated_bytes"] == 3 * GIB
    assert pool["free_bytes"] == empty["free_bytes"] - 3 * GIB

    inventory = ok(wrappers, "lvdisplay.py")
    assert inventory["backend"] == "lvm"
    by_user = {volume["user"]: volume for volume in inventory["volumes"]}
    assert set(by_user) == {alice, bob}
    assert by_user[alice]["size_bytes"] == 2 * GIB
    assert by_user[alice]["device"] is None
    assert by_user[alice]["mounted"] is False
    assert ok(wrappers, "lvdisplay.py", bob)["volume"] == by_user[bob]

    assert ok(wrappers, "lvextend.py", alice, "3") == {
        "user": alice,
        "old_size_bytes": 2 * GIB,
        "size_bytes": 3 * GIB,
        "filesystem": None,
        "grown": None,
    }
    assert volume_group.lv_sizes()[alice] == 3 * GIB
    assert ok(wrappers, "dmsetup.py") == {"devices": []}
    assert ok(wrappers, "df.py") == {"volumes": []}

    assert ok(wrappers, "lvremove.py", alice) == {"user": alice}
    assert ok(wrappers, "lvremove.py", bob) == {"user": bob}
    assert volume_group.lv_sizes() == {}
    assert ok(wrappers, "lvdisplay.py", alice) == {"volume": None}
    assert ok(wrappers, "vgdisplay.py")["free_bytes"] == empty["free_bytes"]


def test_refusals_leave_the_volume_group_unchanged(wrappers, volume_group, users):
    alice, bob = users
    ok(wrappers, "lvcreate.py", alice, "5")
    free = ok(wrappers, "vgdisplay.py")["free_bytes"]
    assert free < 3 * GIB

    def unchanged(name, *args, says):
        before = (volume_group.lv_sizes(), ok(wrappers, "vgdisplay.py"))
        assert says in refused(wrappers, name, *args)
        assert (volume_group.lv_sizes(), ok(wrappers, "vgdisplay.py")) == before

    unchanged("lvcreate.py", bob, "3", says="not enough free space in the pool")
    unchanged("lvextend.py", alice, "8", says="not enough free space in the pool")
    unchanged("lvcreate.py", bob, "5000", says="over the maximum")
    unchanged("lvcreate.py", alice, "1", says="already has a volume")
    unchanged("lvextend.py", alice, "5", says="volumes never shrink")
    unchanged("lvextend.py", alice, "4", says="volumes never shrink")
    unchanged("lvextend.py", bob, "2", says="has no volume")
    unchanged("lvremove.py", bob, says="has no volume")
    # No device-mapper, so nothing can be formatted or mounted; said plainly.
    ok(wrappers, "mkdir.py", alice)
    for name in ("mkfs-ext4.py", "mkfs-btrfs.py", "mkfs-xfs.py", "mount.py"):
        unchanged(name, alice, says="LVM activation is off")
    ok(wrappers, "rmdir.py", alice)
    unchanged("resize2fs.py", alice, says="no filesystem to grow")
    # A name LVM keeps for itself is refused up front, not half-created.
    with backup_account(wrappers, suffix="_tdata") as reserved:
        unchanged("lvcreate.py", reserved.pw_name, "1", says="LVM reserves part of it")

    # Exactly the free space is still fine: the check is not off by one.
    ok(wrappers, "lvcreate.py", bob, str(free // GIB))
    assert ok(wrappers, "vgdisplay.py")["free_bytes"] == free - (free // GIB) * GIB
