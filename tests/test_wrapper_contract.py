"""Every wrapper the portal runs, run once for real through the privileged
client, its output parsed by the typed contract (backup/privileged/
results.py): proof that the shapes the portal relies on, and the recorded
outputs its other tests use (parsed by the same parser), are what the real
wrappers print.

One btrfs volume is shared by the module: made by the create flow, read by
every query, then snapshotted, browsed, restored, rolled back, grown,
suspended and resumed; a second, ext4, volume goes through the deletion
flow (the first one's snapshots are protected, so it can't be deleted
through the wrappers; it is removed by hand afterwards, as the snapshot
tests do)."""

import os
import secrets
import subprocess
import time
from dataclasses import dataclass, field

import pytest
from django.test import override_settings

from backup.privileged import commands, results
from support.snapshots import clean_snapshot_volume
from support.storage import GIB, mount_point

pytestmark = pytest.mark.root

PASSWORD = "contract-" + secrets.token_urlsafe(12)
# A folder of files copied from elsewhere: old modification times, which the
# scan reports as a "copy" source (wrappers/README.md).
COPIED = "Copied documents"
LONG_AGO = 1_500_000_000
COPIED_FILES = 6  # the scan takes a folder for a copy from five files on


@dataclass
class Shared:
    user: str
    made: dict = field(default_factory=dict)


def _delete_account(wrappers, user):
    wrappers.run("deluser.py", user)
    subprocess.run(["userdel", user], capture_output=True, check=False)


# (wrapper, where, keys) the real wrappers printed that the contract does
# not name (the parser drops them): each is either documented and parsed, or
# removed from the wrapper.
UNDOCUMENTED: list[tuple[str, str, list[str]]] = []


def _undocumented(wrapper, raw, parsed, where=""):
    if isinstance(raw, dict) and isinstance(parsed, dict):
        if extra := sorted(set(raw) - set(parsed)):
            UNDOCUMENTED.append((wrapper, where or "result", extra))
        for key in set(raw) & set(parsed):
            _undocumented(wrapper, raw[key], parsed[key], f"{where}.{key}".lstrip("."))
    elif isinstance(raw, list) and isinstance(parsed, list):
        for index, (item, parsed_item) in enumerate(zip(raw, parsed, strict=True)):
            _undocumented(wrapper, item, parsed_item, f"{where}[{index}]")


@pytest.fixture(scope="module")
def portal_settings(wrappers):
    """The client pointed at the session's real wrappers; every result it
    parses is also compared, key by key, with what the wrapper printed."""

    def comparing(wrapper, raw, build):
        parsed = results.parse(wrapper, raw, build)
        _undocumented(wrapper, raw, parsed)
        return parsed

    with (
        override_settings(
            WRAPPERS_PATH=wrappers.path,
            DIRECTORIES_ROOT=wrappers.settings["DIRECTORIES_ROOT"],
            WRAPPERS_USE_SUDO=None,
        ),
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setattr(commands, "parse", comparing)
        yield wrappers


@pytest.fixture(scope="module")
def shared(portal_settings):
    """The create flow, through the client, each result parsed."""
    wrappers = portal_settings
    user = f"bmt{secrets.token_hex(4)}k"
    state = Shared(user)
    try:
        state.made["useradd.py"] = commands.create_account(user)
        state.made["lvcreate.py"] = commands.create_volume(user, 1)
        state.made["mkfs-btrfs.py"] = commands.make_filesystem(user, "btrfs")
        state.made["mkdir.py"] = commands.make_mount_point(user)
        state.made["mount.py"] = commands.mount(user)
        commands.give_to_user(user)  # chown.py, chmod.py, setfacl.py
        state.made["chpasswd.py"] = commands.set_unix_password(user, PASSWORD)
        state.made["smbpasswd.py"] = commands.set_samba_password(user, PASSWORD)
        _copy_some_files(mount_point(wrappers, user) / COPIED, state.made["useradd.py"])
        yield state
    finally:
        clean_snapshot_volume(wrappers, user)
        _delete_account(wrappers, user)


def _copy_some_files(folder, account):
    folder.mkdir()
    for number in range(COPIED_FILES):
        path = folder / f"letter{number}.txt"
        path.write_text("dear sir\n" * 100)
        os.utime(path, (LONG_AGO, LONG_AGO))
    for path in (folder, *folder.iterdir()):
        os.chown(path, account["uid"], account["gid"])


def test_the_create_flow_parses(shared):
    user, made = shared.user, shared.made
    assert made["useradd.py"]["user"] == user
    assert made["lvcreate.py"] == {"user": user, "size_bytes": GIB}
    assert made["mkfs-btrfs.py"] == {"user": user, "filesystem": "btrfs"}
    assert made["mkdir.py"]["path"].endswith(f"/{user}")
    assert made["mount.py"]["filesystem"] == "btrfs"
    assert made["mount.py"]["mount_point"] == made["mkdir.py"]["path"]
    assert made["chpasswd.py"] == made["smbpasswd.py"] == {"user": user}


def _mine(records, user):
    return [record for record in records if record["user"] == user]


QUERIES = {
    "lvdisplay.py": lambda user: _mine(commands.inventory(), user)[0]["mounted"],
    "lvdisplay.py USER": lambda user: commands.volume(user)["filesystem"] == "btrfs",
    "vgdisplay.py": lambda user: commands.pool()["volume_count"] >= 1,
    "dmsetup.py": lambda user: len(_mine(commands.block_devices(), user)) == 1,
    "wrapper-settings.py": lambda user: commands.wrapper_settings()["backend"] == "loopfile",
    "fetch_backups.py USER": lambda user: (
        [(source["format"], source["path"]) for source in commands.fetch_backups(user)["sources"]]
        == [("copy", COPIED)]
    ),
    "fetch_backups.py": lambda user: _mine(commands.fetch_all_backups(), user)[0]["mounted"],
    "snapshot-list.py": lambda user: commands.all_snapshots()[user]["supported"],
    "snapshot-list.py USER": lambda user: commands.snapshots(user)["snapshots"] == [],
    "defragment-btrfs.py": lambda user: bool(commands.defragment(user)["summary"]),
    "scrub-btrfs.py": lambda user: commands.scrub(user)["errors"] == 0,
    "rm-timemachine.py": lambda user: commands.remove_time_machine_backups(user)["removed"] == [],
}


@pytest.mark.parametrize("query", QUERIES)
def test_each_query_parses(shared, query):
    assert QUERIES[query](shared.user)


def test_the_snapshot_flow_parses(shared):
    user = shared.user
    taken = commands.take_snapshot(user)
    assert (taken["user"], taken["supported"], taken["error"]) == (user, True, None)
    time.sleep(1.1)  # one snapshot per second
    run = commands.take_all_snapshots()
    assert run["volumes"][user]["change"] is not None  # measured from the first
    listing = commands.snapshots(user)
    assert [entry["name"] for entry in listing["snapshots"]] == [
        taken["snapshot"],
        run["volumes"][user]["snapshot"],
    ]
    assert commands.prune_snapshots(user)["kept"] == 2
    folder = commands.browse_snapshot(user, taken["snapshot"])
    [entry] = [entry for entry in folder["entries"] if entry["name"] == COPIED]
    assert entry["type"] == "dir"
    below = commands.browse_snapshot(user, taken["snapshot"], entry["ref"])
    assert below["total"] == COPIED_FILES
    restored = commands.restore_from_snapshot(
        user, taken["snapshot"], entry["ref"], "Restored by the contract test"
    )
    assert restored["files"] == COPIED_FILES
    assert restored["restored_to"].startswith("Restored ")
    time.sleep(1.1)
    rolled = commands.roll_back(user, taken["snapshot"])
    assert rolled["snapshot"] == taken["snapshot"]


def test_removing_a_backup_parses(shared):
    removed = commands.remove_backup(shared.user, "copy", COPIED)
    assert (removed["format"], removed["path"]) == ("copy", COPIED)
    assert removed["removed_entries"] >= COPIED_FILES


def test_growing_parses(shared):
    grown = commands.extend_volume(shared.user, 2)
    assert (grown["old_size_bytes"], grown["size_bytes"], grown["grown"]) == (
        GIB,
        2 * GIB,
        "online",
    )


def test_suspending_and_resuming_parse(shared):
    assert commands.suspend(shared.user) == {"user": shared.user}
    assert commands.resume(shared.user)["mount_point"] == shared.made["mkdir.py"]["path"]


def test_the_deletion_flow_parses(portal_settings):
    wrappers = portal_settings
    user = f"bmt{secrets.token_hex(4)}d"
    try:
        commands.create_account(user)
        commands.create_volume(user, 1)
        assert commands.make_filesystem(user, "ext4")["filesystem"] == "ext4"
        commands.make_mount_point(user)
        assert commands.mount(user)["filesystem"] == "ext4"
        assert commands.unmount(user) == {"user": user, "was_mounted": True}
        assert commands.remove_volume(user) == {"user": user}
        assert commands.remove_mount_point(user) == {"user": user}
        assert commands.delete_account(user) == {"user": user}
        assert not _mine(commands.inventory(), user)
    finally:
        clean_snapshot_volume(wrappers, user)
        _delete_account(wrappers, user)


def test_the_real_wrappers_print_nothing_the_contract_does_not_name(portal_settings):
    """Run last: what every test above parsed held no key beyond the contract."""
    assert UNDOCUMENTED == []
