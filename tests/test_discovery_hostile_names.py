"""Names a user chose can neither forge a log line nor wedge a volume: every
wrapper that returns names (fetch_backups.py, rm-timemachine.py), run by the
portal's privileged client, with names holding a newline, escape sequences,
other control bytes, bytes that are not UTF-8, and paths of 4,000 bytes
(Linux limits one name to 255 bytes); and Time Machine deletion of a folder
of 250,000 entries, which makes progress on every run."""

import logging
import os
import plistlib

import pytest

from backup.discovery import scans
from backup.privileged import commands
from backup.privileged.client import Failed
from backup.volumes.models import Volume
from support import accounts, backup_tools

pytestmark = pytest.mark.root

# Each as raw bytes, the way a client over Samba or a shell could name it.
HOSTILE = (
    b"forged\nbackupmanagement: ok rm-timemachine.py",
    b"esc\x1b[2J\x1b]0;owned\x07",
    b"controls\x01\x02\x08\x7f",
    b"latin1-caf\xe9-\xff\xfe",
)
# With ".sparsebundle", 255 bytes: the longest name Linux allows.
LONG = b"L\x1b" + b"n" * 240
HIDDEN = [chr(code) for code in (*range(0x20), 0x7F)]


def bundle(parent, name):
    """A Time Machine bundle named name (bytes) holding a 4,000-byte path
    (16 levels of 249-byte names)."""
    path = os.path.join(os.fsencode(parent), name + b".sparsebundle")
    os.makedirs(os.path.join(path, b"bands"))
    with open(os.path.join(path, b"Info.plist"), "wb") as info:
        info.write(plistlib.dumps({"band-size": 8388608}))
    # Time Machine's own file: without it a bundle is some other disk image.
    with open(os.path.join(path, b"com.apple.TimeMachine.MachineID.plist"), "wb") as info:
        info.write(plistlib.dumps({}))
    # Made a level at a time from the parent's descriptor: the whole path is
    # longer than the kernel takes in one call, as a client can make it.
    fd = os.open(path, os.O_DIRECTORY)
    try:
        for _level in range(16):
            os.mkdir(b"d" * 249, dir_fd=fd)
            inner = os.open(b"d" * 249, os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        os.close(os.open(b"band", os.O_CREAT | os.O_WRONLY, 0o600, dir_fd=fd))
    finally:
        os.close(fd)


def printable_everywhere(value):
    """Every string in a parsed JSON value, keys included, is printable."""
    if isinstance(value, str):
        return value.isprintable()
    if isinstance(value, list):
        return all(map(printable_everywhere, value))
    if isinstance(value, dict):
        return all(printable_everywhere(k) and printable_everywhere(v) for k, v in value.items())
    return True


def no_hidden_characters(records):
    for record in records:
        text = record.getMessage()
        assert not any(char in text for char in HIDDEN), text


def test_scan_names_reach_the_database_escaped(
    portal, account, tmpfs_volume, django_user_model, caplog
):
    for name in (*HOSTILE, LONG):
        bundle(tmpfs_volume, name)
        os.mkdir(os.path.join(os.fsencode(tmpfs_volume), name + b"-folder"))
    backup_tools.give_to(tmpfs_volume, account)
    owner = django_user_model.objects.create(username=account)
    record = Volume.objects.create(owner=owner, account=account, size_gib=1, filesystem="ext4")
    caplog.set_level(logging.INFO)

    report = commands.fetch_backups(account)
    scan = scans.store(record, report)

    assert printable_everywhere(report)
    scan.refresh_from_db()
    machines = sorted(source["machine"] for source in scan.sources)
    assert machines == sorted(
        [
            "controls\\x01\\x02\\x08\\x7f",
            "esc\\x1b[2J\\x1b]0;owned\\x07",
            "forged\\x0abackupmanagement: ok rm-timemachine.py",
            "latin1-caf\\xe9-\\xff\\xfe",
            "L\\x1b" + "n" * 240,
        ]
    )
    folders = sorted(item["path"] for item in scan.unrecognised)
    assert "latin1-caf\\xe9-\\xff\\xfe-folder" in folders
    assert all(folder.isprintable() for folder in folders)
    no_hidden_characters(caplog.records)


def test_time_machine_names_come_back_escaped_and_everything_goes(
    portal, account, tmpfs_volume, caplog
):
    for name in (*HOSTILE, LONG):
        bundle(tmpfs_volume, name)
    backup_tools.give_to(tmpfs_volume, account)
    caplog.set_level(logging.INFO)

    result = commands.remove_time_machine_backups(account)

    assert printable_everywhere(result)
    assert sorted(result["removed"]) == sorted(
        [
            "L\\x1b" + "n" * 240 + ".sparsebundle",
            "controls\\x01\\x02\\x08\\x7f.sparsebundle",
            "esc\\x1b[2J\\x1b]0;owned\\x07.sparsebundle",
            "forged\\x0abackupmanagement: ok rm-timemachine.py.sparsebundle",
            "latin1-caf\\xe9-\\xff\\xfe.sparsebundle",
        ]
    )
    assert result["more_removed"] == 0
    assert os.listdir(tmpfs_volume) == []
    no_hidden_characters(caplog.records)


def test_a_stopped_removal_says_why_in_one_escaped_line(portal, account, tmpfs_volume, caplog):
    for name in HOSTILE:
        bundle(tmpfs_volume, name)
    backup_tools.give_to(tmpfs_volume, account)
    caplog.set_level(logging.INFO)
    # Enough for about one bundle (19 entries each) a run, not for all.
    with accounts.settings_override(portal, SCAN_MAX_ENTRIES=30):
        raw = portal.run("rm-timemachine.py", account)
        with pytest.raises(Failed) as failure:
            commands.remove_time_machine_backups(account)
    assert raw.returncode == 1
    assert raw.stderr.count("\n") == 1
    assert raw.stderr.rstrip("\n").isprintable()
    assert "stopped (too many entries) after removing" in raw.stderr
    assert "run it again" in failure.value.reason
    assert failure.value.reason.isprintable()
    no_hidden_characters(caplog.records)
    # The next runs finish the job.
    for _attempt in range(10):
        if not os.listdir(tmpfs_volume):
            break
        portal.run("rm-timemachine.py", account)
    assert os.listdir(tmpfs_volume) == []


def test_a_folder_of_250000_entries_is_removed_in_runs_that_each_make_progress(
    wrappers, account, tmpfs_volume
):
    bands = tmpfs_volume / "Big.sparsebundle" / "bands"
    bands.mkdir(parents=True)
    (tmpfs_volume / "Big.sparsebundle" / "Info.plist").write_bytes(plistlib.dumps({}))
    directory = os.open(bands, os.O_DIRECTORY)
    try:
        for index in range(250_000):
            os.close(os.open(f"{index:x}", os.O_CREAT | os.O_WRONLY, 0o600, dir_fd=directory))
    finally:
        os.close(directory)
    backup_tools.give_to(tmpfs_volume, account)

    first = wrappers.run("rm-timemachine.py", account)
    assert first.returncode == 1, first.stderr
    assert "stopped (too many entries) after removing" in first.stderr
    left = len(os.listdir(bands))
    # The default bound is 200,000 entries: nearly all of them went.
    assert left <= 250_000 - 199_000, left

    second = wrappers.run("rm-timemachine.py", account)
    assert second.returncode == 0, second.stderr
    assert os.listdir(tmpfs_volume) == []
