"""rm-backup.py: deletes one backup source a scan recognises, as the user,
bounded and resumable; refuses anything else with nothing changed."""

import json
import os
import plistlib
import shutil

import pytest

from support import accounts, backup_tools

pytestmark = pytest.mark.root

REFUSED, FAILED = 2, 1


def bundle(parent, name, bands=3):
    path = os.path.join(os.fsencode(parent), name)
    os.makedirs(os.path.join(path, b"bands"))
    for index in range(bands):
        # Empty: thousands of them fit in the small test volume.
        os.close(os.open(os.path.join(path, b"bands", b"%x" % index), os.O_CREAT | os.O_WRONLY))
    with open(os.path.join(path, b"Info.plist"), "wb") as info:
        info.write(plistlib.dumps({"band-size": 8388608}))
    # Time Machine's own file: without it a bundle is some other disk image.
    with open(os.path.join(path, b"com.apple.TimeMachine.MachineID.plist"), "wb") as info:
        info.write(plistlib.dumps({}))
    return path


def tree(path):
    """Every entry under path, as bytes, with its size."""
    found = set()
    for directory, subdirectories, files in os.walk(os.fsencode(path)):
        for name in subdirectories + files:
            full = os.path.join(directory, name)
            found.add((full, os.lstat(full).st_size if name in files else None))
    return found


def refused(result, why):
    assert result.returncode == REFUSED, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.startswith("rm-backup.py: refused: ")
    assert result.stderr.count("\n") == 1
    assert why in result.stderr


def test_one_recognised_source_goes_and_nothing_else(wrappers, account, tmpfs_volume, tmp_path):
    tools = backup_tools.Tools(tmp_path)
    backup_tools.make_tree(tmp_path / "source")
    tools.restic_backup(tmp_path / "source", tmpfs_volume / "laptop" / "restic")
    bundle(tmpfs_volume, b"Caf\xe9\nMac.sparsebundle")
    bundle(tmpfs_volume, b"Other.sparsebundle")
    (tmpfs_volume / "photos").mkdir()
    (tmpfs_volume / "photos" / "beach.jpg").write_bytes(b"jpeg")
    backup_tools.give_to(tmpfs_volume, account)
    report = backup_tools.fetch(wrappers, account)
    shown = sorted((s["format"], s["path"]) for s in report["sources"])
    assert shown == [
        ("restic", "laptop/restic"),
        ("time_machine", "Caf\\xe9\\x0aMac.sparsebundle"),
        ("time_machine", "Other.sparsebundle"),
    ]

    result = wrappers.run("rm-backup.py", account, "time_machine", "Caf\\xe9\\x0aMac.sparsebundle")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["path"] == "Caf\\xe9\\x0aMac.sparsebundle"
    assert output["removed_entries"] >= 6
    assert sorted(os.listdir(tmpfs_volume)) == ["Other.sparsebundle", "laptop", "photos"]

    result = wrappers.run("rm-backup.py", account, "restic", "laptop/restic")
    assert result.returncode == 0, result.stderr
    assert os.listdir(tmpfs_volume / "laptop") == []
    assert (tmpfs_volume / "photos" / "beach.jpg").read_bytes() == b"jpeg"
    after = backup_tools.fetch(wrappers, account)
    assert [s["path"] for s in after["sources"]] == ["Other.sparsebundle"]


def test_a_file_based_backup_loses_only_its_own_files(wrappers, account, tmpfs_volume):
    for name in ("duplicati-20240301T090000Z.dlist.zip", f"duplicati-b{'a' * 32}.dblock.zip"):
        (tmpfs_volume / name).write_bytes(b"d")
    (tmpfs_volume / "laptop-20240301T090000Z.dlist.zip").write_bytes(b"other job")
    (tmpfs_volume / "notes.txt").write_text("keep\n")
    backup_tools.give_to(tmpfs_volume, account)
    result = wrappers.run("rm-backup.py", account, "duplicati", ".")
    refused(result, "whole volume")
    (tmpfs_volume / "jobs").mkdir()
    for name in os.listdir(tmpfs_volume):
        if name.endswith(".zip"):
            os.rename(tmpfs_volume / name, tmpfs_volume / "jobs" / name)
    backup_tools.give_to(tmpfs_volume, account)
    # Two jobs in one folder: ambiguous, refused.
    refused(wrappers.run("rm-backup.py", account, "duplicati", "jobs"), "several")
    os.unlink(tmpfs_volume / "jobs" / "laptop-20240301T090000Z.dlist.zip")
    (tmpfs_volume / "jobs" / "readme.txt").write_text("keep too\n")
    result = wrappers.run("rm-backup.py", account, "duplicati", "jobs")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["removed_entries"] == 2
    assert sorted(os.listdir(tmpfs_volume / "jobs")) == ["readme.txt"]


def test_a_large_source_is_deleted_in_runs_that_each_make_progress(wrappers, account, tmpfs_volume):
    bundle(tmpfs_volume, b"Big.sparsebundle", bands=6000)
    backup_tools.give_to(tmpfs_volume, account)
    with accounts.settings_override(wrappers, SCAN_MAX_ENTRIES=4000):
        first = wrappers.run("rm-backup.py", account, "time_machine", "Big.sparsebundle")
        assert first.returncode == FAILED, first.stderr
        assert "stopped (too many entries) after removing" in first.stderr
        assert "run it again" in first.stderr
        # Out of the user's sight at once, and mostly gone.
        assert os.listdir(tmpfs_volume) == [".backups-being-deleted"]
        assert sum(len(files) for _, _, files in os.walk(tmpfs_volume)) < 6000 - 3000
        second = wrappers.run("rm-backup.py", account, "time_machine", "Big.sparsebundle")
    assert second.returncode == 0, second.stderr
    assert os.listdir(tmpfs_volume) == []


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["time_machine"], "expected USER FORMAT PATH"),
        (["tar", "Mac.sparsebundle"], "unknown backup format"),
        (["Time_Machine", "Mac.sparsebundle"], "unknown backup format"),
        (["time_machine", "."], "whole volume"),
        (["time_machine", ""], "invalid PATH"),
        (["time_machine", "Mac\n.sparsebundle"], "invalid PATH"),
        (["time_machine", "x" * 301], "invalid PATH"),
        (["time_machine", "photos"], "no time_machine backup at photos"),
        (["time_machine", "../Mac.sparsebundle"], "no time_machine backup"),
        (["time_machine", "/etc"], "no time_machine backup"),
        (["restic", "Mac.sparsebundle"], "no restic backup"),
        (["time_machine", "Gone.sparsebundle"], "no time_machine backup"),
    ],
)
def test_anything_but_a_recognised_source_is_refused(wrappers, account, tmpfs_volume, args, why):
    bundle(tmpfs_volume, b"Mac.sparsebundle")
    (tmpfs_volume / "photos").mkdir()
    backup_tools.give_to(tmpfs_volume, account)
    before = tree(tmpfs_volume)
    refused(wrappers.run("rm-backup.py", account, *args), why)
    assert tree(tmpfs_volume) == before


def test_an_unmounted_volume_is_refused(wrappers, account):
    assert wrappers.run("mkdir.py", account).returncode == 0
    mount_point = wrappers.settings["DIRECTORIES_ROOT"] + "/" + account
    try:
        bundle(mount_point, b"Mac.sparsebundle")
        before = tree(mount_point)
        result = wrappers.run("rm-backup.py", account, "time_machine", "Mac.sparsebundle")
        refused(result, "not mounted")
        assert tree(mount_point) == before
    finally:
        shutil.rmtree(mount_point)
