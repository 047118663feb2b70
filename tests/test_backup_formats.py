"""Backup discovery, format by format.

Layouts built here from each format's documented structure are scanned in
process (wrapperlib.discovery.scan, no privileges needed); repositories made
by the real Debian tools are scanned through fetch_backups.py as the
volume's owner, and the times found must match the tools' own records.
"""

import datetime
import json
import os
import plistlib
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import require_tool

from support import backup_layouts, backup_tools
from support.waiting import next_second, wait_until

# The wrappers are scripts, not a package on the tests' path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "wrappers"))
from wrapperlib import discovery
from wrapperlib.discovery import found, walk
from wrapperlib.discovery import sizes as sizes_module

UTC = datetime.UTC
T0 = datetime.datetime(2024, 3, 1, 9, 0, 0, tzinfo=UTC).timestamp()
HOUR = 3600
DAY = 24 * HOUR


def iso(timestamp):
    return datetime.datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def scan(root, max_entries=200_000, max_seconds=20, sizes=False):
    """The scan's report; without sizes, which depend on the file system's
    allocation and have tests of their own."""
    report = discovery.scan(str(root), discovery.Limits(max_entries, max_seconds))
    if not sizes:
        for source in report["sources"]:
            del source["size_bytes"], source["size_estimated"]
    return report


def only_source(report):
    assert len(report["sources"]) == 1, report
    return report["sources"][0]


def unrecognised_paths(report):
    return [item["path"] for item in report["unrecognised"]]


def touch(path, when, content=b""):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    os.utime(path, (when, when))
    return path


def set_time(path, when):
    os.utime(path, (when, when), follow_symlinks=False)


# Time Machine


def time_machine_bundle(parent, name, completions=None, verification_state=1, bands=4):
    bundle = parent / name
    (bundle / "bands").mkdir(parents=True)
    for index in range(bands):
        touch(bundle / "bands" / f"{index:x}", T0 - DAY)
    set_time(bundle / "bands", T0 - DAY)
    (bundle / "Info.plist").write_bytes(
        plistlib.dumps(
            {
                "CFBundleInfoDictionaryVersion": "6.0",
                "band-size": 8388608,
                "bundle-backingstore-version": 1,
                "diskimage-bundle-type": "com.apple.diskimage.sparsebundle",
                "size": 1 << 40,
            }
        )
    )
    (bundle / "com.apple.TimeMachine.MachineID.plist").write_bytes(
        plistlib.dumps(
            {
                "VerificationDate": datetime.datetime(2024, 2, 1, 12, 0),
                "VerificationState": verification_state,
                "com.apple.backupd.HostUUID": "01234567-1234-5678-9ABC-123456789ABC",
                "com.apple.backupd.BackupMachineAddress": "00:11:22:33:44:55",
            }
        )
    )
    if completions is not None:
        snapshots = [
            {
                "com.apple.backupd.SnapshotCompletionDate": datetime.datetime.fromtimestamp(
                    when, UTC
                ).replace(tzinfo=None),
                "com.apple.backupd.SnapshotName": f"snapshot-{index}.backup",
            }
            for index, when in enumerate(completions)
        ]
        (bundle / "com.apple.TimeMachine.SnapshotHistory.plist").write_bytes(
            plistlib.dumps({"Snapshots": snapshots})
        )
    return bundle


def test_time_machine_dates_the_last_completed_snapshot(tmp_path):
    completions = [T0 - 2 * DAY, T0, T0 - DAY]
    # macOS names computers with a typographic apostrophe.
    time_machine_bundle(tmp_path, "Ann\u2019s MacBook Pro.sparsebundle", completions)
    assert scan(tmp_path) == {
        "truncated": False,
        "sources": [
            {
                "machine": "Ann\u2019s MacBook Pro",
                "format": "time_machine",
                "path": "Ann\u2019s MacBook Pro.sparsebundle",
                "last_backup": iso(T0),
                "backups": 3,
                "state": "complete",
                "evidence": None,
                "in_progress_since": None,
            }
        ],
        "more_sources": 0,
        "unrecognised": [],
        "more_unrecognised": 0,
    }


def test_time_machine_names_before_10_6_3_carry_the_ethernet_address(tmp_path):
    time_machine_bundle(tmp_path, "Office-iMac_001122aabbcc.sparsebundle", [T0])
    assert only_source(scan(tmp_path))["machine"] == "Office-iMac"


def test_time_machine_failed_verification_is_reported_failed(tmp_path):
    time_machine_bundle(tmp_path, "Mini.backupbundle", [T0], verification_state=2)
    source = only_source(scan(tmp_path))
    assert (source["state"], source["last_backup"]) == ("failed", iso(T0))


def test_time_machine_without_history_is_dated_from_bands_without_listing_them(tmp_path):
    bundle = time_machine_bundle(tmp_path, "Studio.backupbundle", completions=None, bands=500)
    set_time(bundle / "bands", T0)  # a band was added or removed at T0
    # 500 bands but a budget of 100 entries: the bands are sampled, not listed.
    report = scan(tmp_path, max_entries=100)
    assert report["truncated"] is False
    source = only_source(report)
    assert (source["machine"], source["last_backup"], source["backups"]) == (
        "Studio",
        iso(T0),
        None,
    )
    assert source["evidence"] == "bands_sample"


def test_a_modern_bundle_without_history_is_last_written_from_every_band(tmp_path):
    """APFS bundles (macOS 11+) rewrite a few large bands in place: the
    folder's time and a sample of bands say nothing; all of them are read,
    and the newest write is never called a completed backup."""
    bundle = time_machine_bundle(tmp_path, "Air.sparsebundle", completions=None, bands=300)
    names = sorted(os.listdir(bundle / "bands"))
    for name in names:
        set_time(bundle / "bands" / name, T0 - 10 * DAY)
    rewritten = names[len(names) // 2]
    set_time(bundle / "bands" / rewritten, T0)  # the last backup wrote this band
    set_time(bundle / "bands", T0 - 10 * DAY)  # no band was added or removed
    source = only_source(scan(tmp_path))
    assert (source["last_backup"], source["evidence"], source["state"]) == (
        iso(T0),
        "last_written",
        "complete",
    )


def test_a_first_time_machine_backup_still_running_is_in_progress(tmp_path):
    """The bundle keeps its temporary name until the first backup completes."""
    bundle = time_machine_bundle(tmp_path, "New Mac.tmp.sparsebundle", completions=None)
    set_time(bundle / "bands" / "0", T0)
    source = only_source(scan(tmp_path))
    assert (source["machine"], source["state"], source["last_backup"], source["backups"]) == (
        "New Mac",
        "in_progress",
        None,
        None,
    )


def _garbage_history(bundle):
    (bundle / "com.apple.TimeMachine.SnapshotHistory.plist").write_bytes(b"<?xml \x00 garbage")


def _history_without_list(bundle):
    (bundle / "com.apple.TimeMachine.SnapshotHistory.plist").write_bytes(
        plistlib.dumps({"Snapshots": "none"})
    )


def _history_not_a_dictionary(bundle):
    (bundle / "com.apple.TimeMachine.SnapshotHistory.plist").write_bytes(
        plistlib.dumps([1, 2], fmt=plistlib.FMT_BINARY)
    )


def _no_info(bundle):
    (bundle / "Info.plist").unlink()


def _info_is_a_symlink(bundle):
    (bundle / "Info.plist").unlink()
    (bundle / "Info.plist").symlink_to("/etc/passwd")


def _history_is_a_fifo(bundle):
    (bundle / "com.apple.TimeMachine.SnapshotHistory.plist").unlink()
    os.mkfifo(bundle / "com.apple.TimeMachine.SnapshotHistory.plist")


def _entity_expansion(bundle):
    (bundle / "com.apple.TimeMachine.SnapshotHistory.plist").write_text(
        '<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><plist><string>&b;</string></plist>'
    )


@pytest.mark.parametrize(
    "damage",
    [
        _garbage_history,
        _history_without_list,
        _history_not_a_dictionary,
        _no_info,
        _info_is_a_symlink,
        _history_is_a_fifo,
        _entity_expansion,
    ],
)
def test_a_damaged_time_machine_bundle_is_unrecognised_and_the_rest_reported(tmp_path, damage):
    damage(time_machine_bundle(tmp_path, "Broken.sparsebundle", [T0]))
    time_machine_bundle(tmp_path, "Good.sparsebundle", [T0])
    report = scan(tmp_path)
    assert [source["machine"] for source in report["sources"]] == ["Good"]
    assert unrecognised_paths(report) == ["Broken.sparsebundle"]


# Windows


def test_windows_7_backup_counts_every_run_of_every_set(tmp_path):
    pc = tmp_path / "WORKPC"
    first = pc / "Backup Set 2024-01-02 101010"
    second = pc / "Backup Set 2024-02-05 080000"
    touch(pc / "MediaID.bin", T0 - 9 * DAY)
    touch(first / "Backup Files 2024-01-02 101010" / "Backup files 1.zip", T0 - 9 * DAY)
    touch(first / "Backup Files 2024-01-09 101010" / "Backup files 1.zip", T0 - 2 * DAY)
    touch(second / "Backup Files 2024-02-05 080000" / "Backup files 1.zip", T0 - DAY)
    # Each set's catalog is rewritten when one of its runs has completed.
    touch(first / "Catalogs" / "GlobalCatalog.wbcat", T0)
    touch(second / "Catalogs" / "GlobalCatalog.wbcat", T0 - DAY)
    set_time(first / "Backup Files 2024-01-02 101010", T0 - 9 * DAY)
    set_time(first / "Backup Files 2024-01-09 101010", T0)
    set_time(second / "Backup Files 2024-02-05 080000", T0 - DAY)
    source = only_source(scan(tmp_path))
    assert source == {
        "machine": "WORKPC",
        "format": "windows_backup",
        "path": "WORKPC",
        "last_backup": iso(T0),
        "backups": 3,
        "state": "complete",
        "evidence": None,
        "in_progress_since": None,
    }


def test_windows_system_image_is_dated_and_sized_from_its_newest_image(tmp_path):
    pc = tmp_path / "WindowsImageBackup" / "WORKPC"
    image = pc / "Backup 2024-02-29 220000"
    touch(image / "3f2504e0-4f89-11d3-9a0c-0305e82c3301.vhdx", T0 - HOUR, b"v" * 1000)
    touch(image / "BackupSpecs.xml", T0, b"<x/>" * 5)
    touch(pc / "Catalog" / "GlobalCatalog", T0)
    touch(pc / "MediaId", T0 - DAY)
    set_time(image, T0 - 2 * HOUR)
    (tmp_path / "WindowsImageBackup" / "NEWPC").mkdir()
    report = scan(tmp_path)
    assert report["sources"] == [
        {
            "machine": "NEWPC",
            "format": "windows_system_image",
            "path": "WindowsImageBackup/NEWPC",
            "last_backup": None,
            "backups": 0,
            "state": "in_progress",
            "evidence": None,
            "in_progress_since": None,
        },
        {
            "machine": "WORKPC",
            "format": "windows_system_image",
            "path": "WindowsImageBackup/WORKPC",
            "last_backup": iso(T0),
            "backups": 1,
            "state": "complete",
            "evidence": None,
            "in_progress_since": None,
        },
    ]
    sized = scan(tmp_path, sizes=True)["sources"][1]
    assert (sized["size_bytes"], sized["size_estimated"]) == (1020, False)


def test_windows_file_history_is_dated_from_its_configuration(tmp_path):
    pc = tmp_path / "FileHistory" / "ann" / "LAPTOP"
    touch(pc / "Configuration" / "Config1.xml", T0 - DAY)
    touch(pc / "Configuration" / "Config1.edb", T0)
    touch(pc / "Data" / "$OF" / "C" / "Users" / "ann" / "notes (2024_03_02 10_00_00 UTC).txt", T0)
    set_time(pc / "Configuration", T0 - DAY)
    (tmp_path / "FileHistory" / "ann" / "HALFDONE" / "Data").mkdir(parents=True)
    report = scan(tmp_path)
    assert only_source(report) == {
        "machine": "LAPTOP",
        "format": "windows_file_history",
        "path": "FileHistory/ann/LAPTOP",
        "last_backup": iso(T0),
        "backups": None,
        "state": "complete",
        "evidence": None,
        "in_progress_since": None,
    }
    assert unrecognised_paths(report) == ["FileHistory/ann/HALFDONE"]


# rdiff-backup


def rdiff_repository(path, mirrors, sessions):
    data = path / "rdiff-backup-data"
    data.mkdir(parents=True)
    for stamp in mirrors:
        (data / f"current_mirror.{stamp}.data").write_text("PID 1234\n")
    for stamp in sessions:
        (data / f"mirror_metadata.{stamp}.diff.gz").write_bytes(b"")
    (data / "increments").mkdir()
    (path / "home.txt").write_text("mirrored file\n")


def test_rdiff_backup_time_comes_from_current_mirror_in_any_zone(tmp_path):
    sessions = ["2024-02-28T10:00:00+01:00", "2024-02-29T10:00:00+01:00"]
    rdiff_repository(tmp_path / "laptop", ["2024-03-01T10:00:00+01:00"], sessions)
    source = only_source(scan(tmp_path))
    assert source == {
        "machine": None,
        "format": "rdiff_backup",
        "path": "laptop",
        "last_backup": iso(T0),
        "backups": 2,
        "state": "complete",
        "evidence": None,
        "in_progress_since": None,
    }


def test_rdiff_backup_two_mirror_markers_mean_a_session_in_progress(tmp_path):
    # --use-compatible-timestamps writes "-" for ":".
    mirrors = ["2024-03-01T09-00-00Z", "2024-03-02T09-00-00Z"]
    rdiff_repository(tmp_path / "laptop", mirrors, ["2024-03-01T09-00-00Z", *mirrors])
    source = only_source(scan(tmp_path))
    assert (source["state"], source["last_backup"], source["backups"]) == (
        "in_progress",
        iso(T0),
        1,
    )


def test_rdiff_backup_with_three_mirror_markers_is_unrecognised(tmp_path):
    mirrors = [f"2024-03-0{day}T09:00:00Z" for day in (1, 2, 3)]
    rdiff_repository(tmp_path / "laptop", mirrors, [])
    report = scan(tmp_path)
    assert (report["sources"], unrecognised_paths(report)) == ([], ["laptop"])


# Back In Time


def backintime_snapshot(profile, snapshot_id, finished, failed=False, machine="ann-laptop"):
    snapshot = profile / snapshot_id
    touch(snapshot / "backup" / "home" / "ann" / "notes.txt", T0 - 30 * DAY)
    touch(snapshot / "info", finished, f"snapshot_machine={machine}\nsnapshot_user=ann\n".encode())
    touch(snapshot / "fileinfo.bz2", finished - 5)
    touch(snapshot / "takesnapshot.log.bz2", finished - 1)
    if failed:
        touch(snapshot / "failed", finished)
    set_time(snapshot / "backup", T0 - 30 * DAY)
    set_time(snapshot, finished - 60)


def test_back_in_time_skips_failed_snapshots(tmp_path):
    profile = tmp_path / "backintime" / "host-dir" / "ann" / "1"
    backintime_snapshot(profile, "20240227-100000-123", T0 - 2 * DAY)
    backintime_snapshot(profile, "20240229-100000-456", T0)
    backintime_snapshot(profile, "20240301-100000-789", T0 + DAY, failed=True)
    (profile / "last_snapshot").symlink_to("20240301-100000-789")
    source = only_source(scan(tmp_path))
    assert source == {
        "machine": "ann-laptop",
        "format": "back_in_time",
        "path": "backintime/host-dir/ann/1",
        "last_backup": iso(T0),
        "backups": 2,
        "state": "failed",
        "evidence": None,
        "in_progress_since": None,
    }


def test_back_in_time_new_snapshot_is_in_progress_and_host_named_by_folder(tmp_path):
    profile = tmp_path / "backintime" / "desk" / "ann" / "2"
    backintime_snapshot(profile, "20240229-100000-456", T0)
    (profile / "20240229-100000-456" / "info").unlink()
    (profile / "new_snapshot" / "backup").mkdir(parents=True)
    source = only_source(scan(tmp_path))
    assert (source["machine"], source["state"], source["backups"]) == ("desk", "in_progress", 1)


# restic


def restic_repository(path, snapshot_times, lock_time=None):
    touch(path / "config", T0 - 30 * DAY, os.urandom(155))
    touch(path / "keys" / ("a" * 64), T0 - 30 * DAY, os.urandom(400))
    for index, when in enumerate(snapshot_times):
        touch(path / "snapshots" / (f"{index:x}" * 64)[:64], when, os.urandom(190))
    touch(path / "data" / "0a" / ("0a" * 32), T0, os.urandom(100))
    (path / "index").mkdir()
    (path / "locks").mkdir()
    if lock_time is not None:
        touch(path / "locks" / ("f" * 64), lock_time, os.urandom(200))


def test_restic_newest_snapshot_file_dates_the_last_backup(tmp_path):
    restic_repository(tmp_path / "restic", [T0 - DAY, T0, T0 - 2 * DAY])
    assert only_source(scan(tmp_path)) == {
        "machine": None,
        "format": "restic",
        "path": "restic",
        "last_backup": iso(T0),
        "backups": 3,
        "state": "complete",
        "evidence": None,
        "in_progress_since": None,
    }


def test_restic_with_a_fresh_lock_is_in_progress(tmp_path):
    restic_repository(tmp_path / "restic", [T0], lock_time=time.time() - 60)
    assert only_source(scan(tmp_path))["state"] == "in_progress"


def test_a_volume_that_is_one_repository_is_reported_at_its_root(tmp_path):
    restic_repository(tmp_path, [T0])
    report = scan(tmp_path)
    assert (only_source(report)["path"], report["unrecognised"]) == (".", [])


# Borg


def borg_repository(path, version=1, transactions=(3, 12), newest=T0):
    path.mkdir(parents=True)
    (path / "README").write_text(
        "This is a Borg Backup repository.\nSee https://borgbackup.readthedocs.io/\n"
    )
    (path / "config").write_text(
        f"[repository]\nversion = {version}\nsegments_per_dir = 1000\n"
        "max_segment_size = 524288000\nappend_only = 0\nid = 5f3c\nkey = \n"
    )
    touch(path / "data" / "0" / "1", T0 - DAY)
    for number in transactions:
        when = newest if number == max(transactions) else newest - DAY
        for kind in ("integrity", "index", "hints"):
            touch(path / f"{kind}.{number}", when, b"x")
    touch(path / "nonce", T0 - DAY, b"0" * 16)


@pytest.mark.parametrize(("version", "format_name"), [(1, "borg"), (2, "borg2")])
def test_borg_highest_integrity_file_dates_the_last_change_to_the_repository(
    tmp_path, version, format_name
):
    # 12 is the newest transaction although "integrity.3" sorts after it.
    borg_repository(tmp_path / "borg", version=version)
    assert only_source(scan(tmp_path)) == {
        "machine": None,
        "format": format_name,
        "path": "borg",
        "last_backup": iso(T0),
        "backups": None,
        "state": "complete",
        "evidence": "repository_change",
        "in_progress_since": None,
    }


def test_borg_locked_repository_is_in_progress(tmp_path):
    borg_repository(tmp_path / "borg")
    (tmp_path / "borg" / "lock.exclusive").mkdir()
    (tmp_path / "borg" / "lock.roster").write_text("{}")
    assert only_source(scan(tmp_path))["state"] == "in_progress"


def test_borg_repository_of_an_unknown_version_is_unrecognised(tmp_path):
    borg_repository(tmp_path / "borg", version=9)
    assert unrecognised_paths(scan(tmp_path)) == ["borg"]


def test_borg2_on_borgstore_counts_archives(tmp_path):
    repository = tmp_path / "borg2"
    touch(repository / "config" / "readme", T0 - DAY, b"This is a Borg Backup repository.\n")
    touch(repository / "config" / "version", T0 - DAY, b"3\n")
    touch(repository / "config" / "id", T0 - DAY, b"5f3c\n")
    touch(repository / "archives" / ("1" * 64), T0 - DAY, b"x")
    touch(repository / "archives" / ("2" * 64), T0, b"x")
    touch(repository / "keys" / "repokey", T0 - DAY, b"key")
    touch(repository / "packs" / "00" / ("0" * 64), T0, b"x")
    (repository / "locks").mkdir()
    source = only_source(scan(tmp_path))
    assert (source["format"], source["last_backup"], source["backups"]) == ("borg2", iso(T0), 2)


# duplicity / Déjà Dup


def test_duplicity_manifests_date_backups_and_name_the_host(tmp_path):
    target = tmp_path / "deja-dup"
    full, inc1, inc2 = "20240228T090000Z", "20240229T090000Z", "20240301T090000Z"
    touch(target / f"duplicity-full.{full}.manifest", T0, b"Hostname ann-laptop\nLocaldir /\n")
    touch(target / f"duplicity-full.{full}.vol1.difftar.gz", T0)
    touch(target / f"duplicity-full-signatures.{full}.sigtar.gz", T0)
    touch(target / f"duplicity-inc.{full}.to.{inc1}.manifest", T0, b"Hostname old-name\n")
    touch(target / f"duplicity-inc.{full}.to.{inc1}.vol1.difftar.gz", T0)
    touch(target / f"duplicity-inc.{inc1}.to.{inc2}.manifest", T0, b"Hostname ann-laptop\n")
    touch(target / f"duplicity-inc.{inc1}.to.{inc2}.vol1.difftar.gz", T0)
    assert only_source(scan(tmp_path)) == {
        "machine": "ann-laptop",
        "format": "duplicity",
        "path": "deja-dup",
        "last_backup": iso(T0),
        "backups": 3,
        "state": "complete",
        "evidence": None,
        "in_progress_since": None,
    }


def test_duplicity_volumes_without_a_manifest_are_a_backup_in_progress(tmp_path):
    target = tmp_path / "duplicity"
    full, running = "20240301T090000Z", "20240302T090000Z"
    touch(target / f"duplicity-full.{full}.manifest.gpg", T0, os.urandom(64))
    touch(target / f"duplicity-full.{full}.vol1.difftar.gpg", T0)
    touch(target / f"duplicity-inc.{full}.to.{running}.vol1.difftar.gpg", T0)
    source = only_source(scan(tmp_path))
    assert (source["machine"], source["last_backup"], source["state"]) == (
        None,
        iso(T0),
        "in_progress",
    )


def test_file_based_backups_at_the_volume_root_leave_the_rest_to_be_listed(tmp_path):
    touch(tmp_path / "duplicity-full.20240301T090000Z.manifest", T0, b"Hostname pc\n")
    touch(tmp_path / "duplicity-full.20240301T090000Z.vol1.difftar.gz", T0)
    touch(tmp_path / "photos" / "cat.jpg", T0 - DAY)
    set_time(tmp_path / "photos", T0 - DAY)
    time_machine_bundle(tmp_path, "Mac.sparsebundle", [T0])
    report = scan(tmp_path)
    assert [(s["path"], s["format"]) for s in report["sources"]] == [
        (".", "duplicity"),
        ("Mac.sparsebundle", "time_machine"),
    ]
    assert report["unrecognised"] == [{"path": "photos", "modified": iso(T0 - DAY)}]


# Duplicati


def test_duplicati_file_lists_date_backups(tmp_path):
    target = tmp_path / "duplicati"
    touch(target / "duplicati-20240229T090000Z.dlist.zip.aes", T0, os.urandom(64))
    touch(target / "duplicati-20240301T090000Z.dlist.zip.aes", T0, os.urandom(64))
    touch(target / f"duplicati-b{'a' * 32}.dblock.zip.aes", T0, os.urandom(64))
    touch(target / f"duplicati-i{'b' * 32}.dindex.zip.aes", T0, os.urandom(64))
    assert only_source(scan(tmp_path)) == {
        "machine": None,
        "format": "duplicati",
        "path": "duplicati",
        "last_backup": iso(T0),
        "backups": 2,
        "state": "complete",
        "evidence": None,
        "in_progress_since": None,
    }


def test_duplicati_blocks_without_a_file_list_are_a_first_backup_in_progress(tmp_path):
    touch(tmp_path / "duplicati" / f"duplicati-b{'a' * 32}.dblock.zip", T0)
    source = only_source(scan(tmp_path))
    assert (source["state"], source["backups"], source["last_backup"]) == ("in_progress", 0, None)


# Kopia

FORMAT_BLOB = (
    b'{"tool":"https://github.com/kopia/kopia","buildVersion":"0.17.0",'
    b'"uniqueID":"bm90IGEgZ29vZCByYW5kb20=","keyAlgo":"scrypt-65536-8-1",'
    b'"version":"1","encryption":"AES256_GCM","encryptedBlockFormat":"ZSxqt"}'
)


def test_kopia_repository_is_dated_by_its_last_change_from_index_blobs(tmp_path):
    repository = tmp_path / "kopia"
    touch(repository / "kopia.repository.f", T0 - 30 * DAY, FORMAT_BLOB)
    touch(repository / "kopia.blobcfg.f", T0 - 30 * DAY, b"{}")
    touch(repository / ".shards", T0 - 30 * DAY, b'{"default":[3,3]}')
    touch(repository / "p00" / "003" / "237e0ac3607edbee743a26b0b34.f", T0 + DAY, b"pack")
    touch(repository / "xn0" / "_12" / "3456-s1.f", T0, b"index")
    set_time(repository / "xn0" / "_12", T0)
    set_time(repository / "xn0", T0 - DAY)
    set_time(repository / "p00", T0 - DAY)
    assert only_source(scan(tmp_path)) == {
        "machine": None,
        "format": "kopia",
        "path": "kopia",
        "last_backup": iso(T0),
        "backups": None,
        "state": "complete",
        "evidence": "repository_change",
        "in_progress_since": None,
    }


def test_kopia_format_blob_that_is_not_json_is_unrecognised(tmp_path):
    touch(tmp_path / "kopia" / "kopia.repository.f", T0, b"[" * 60000)
    assert unrecognised_paths(scan(tmp_path)) == ["kopia"]


# Reading the volume


def test_the_reader_never_follows_a_symlink(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "file").write_text("outside\n")
    (tmp_path / "volume").mkdir()
    (tmp_path / "volume" / "folder").symlink_to(tmp_path / "real")
    (tmp_path / "volume" / "file").symlink_to(tmp_path / "real" / "file")
    os.mkfifo(tmp_path / "volume" / "fifo")
    budget = walk.Budget(walk.Limits(100, 10))
    with walk.Dir.open_root(str(tmp_path / "volume"), budget) as volume:
        # O_NOFOLLOW with O_DIRECTORY: a symlink is "not a directory".
        with pytest.raises(NotADirectoryError):
            volume.open_dir("folder")
        for name in ("file", "fifo"):
            with pytest.raises(walk.Malformed):
                volume.read(name, 100)
        assert sorted((entry.name, entry.kind) for entry in volume.entries()) == [
            ("fifo", "other"),
            ("file", "symlink"),
            ("folder", "symlink"),
        ]
    with pytest.raises(NotADirectoryError):
        walk.Dir.open_root(str(tmp_path / "volume" / "folder"), budget)


# The scan as a whole


def test_backups_are_searched_three_levels_deep_and_no_further(tmp_path):
    restic_repository(tmp_path / "shallow" / "a" / "restic", [T0])
    restic_repository(tmp_path / "deep" / "a" / "b" / "restic", [T0])
    report = scan(tmp_path)
    assert [source["path"] for source in report["sources"]] == ["shallow/a/restic"]
    assert unrecognised_paths(report) == ["deep"]


def test_an_unrecognised_folder_reports_its_newest_change(tmp_path):
    touch(tmp_path / "misc" / "old.txt", T0 - 9 * DAY)
    touch(tmp_path / "misc" / "sub" / "new.txt", T0)
    set_time(tmp_path / "misc" / "sub", T0 - 5 * DAY)
    set_time(tmp_path / "misc", T0 - 5 * DAY)
    touch(tmp_path / "notes.txt", T0 - DAY)
    assert scan(tmp_path)["unrecognised"] == [{"path": "misc", "modified": iso(T0)}]


def test_loose_files_at_the_root_are_not_listed_as_folders(tmp_path):
    touch(tmp_path / "notes.txt", T0 - DAY)
    touch(tmp_path / "photo.jpg", T0 - DAY)
    (tmp_path / "link").symlink_to("notes.txt")
    (tmp_path / "empty").mkdir()
    assert unrecognised_paths(scan(tmp_path)) == ["empty"]


def test_file_system_and_mac_clutter_at_the_root_is_not_listed(tmp_path):
    for name in ("lost+found", ".Trashes", ".fseventsd"):
        (tmp_path / name).mkdir()
    for name in (".DS_Store", "._Mac.sparsebundle", ".com.apple.timemachine.supported"):
        (tmp_path / name).write_bytes(b"")
    assert scan(tmp_path) == {
        "truncated": False,
        "sources": [],
        "more_sources": 0,
        "unrecognised": [],
        "more_unrecognised": 0,
    }


def test_names_that_are_not_utf8_or_hold_newlines_are_shown_escaped(tmp_path):
    root = os.fsencode(tmp_path)
    os.mkdir(root + b"/bad\xffname\nhere")
    # A right-to-left override would show "report\u202etxt.exe" as "reportexe.txt".
    (tmp_path / "report\u202etxt.exe").mkdir()
    time_machine_bundle(tmp_path, os.fsdecode(b"Caf\xe9\nMac.sparsebundle"), [T0])
    report = scan(tmp_path)
    assert only_source(report)["machine"] == "Caf\\xe9\\x0aMac"
    assert only_source(report)["path"] == "Caf\\xe9\\x0aMac.sparsebundle"
    assert unrecognised_paths(report) == ["bad\\xffname\\x0ahere", "report\\u202etxt.exe"]


def test_entry_bound_truncates_the_scan_after_recognising_top_level_backups(tmp_path):
    time_machine_bundle(tmp_path, "Mac.sparsebundle", [T0])
    many = tmp_path / "a-lot"
    many.mkdir()
    for index in range(300):
        (many / str(index)).write_bytes(b"")
    report = scan(tmp_path, max_entries=100)
    assert report["truncated"] is True
    assert [source["machine"] for source in report["sources"]] == ["Mac"]
    assert unrecognised_paths(report) == ["a-lot"]


def test_time_bound_truncates_the_scan(tmp_path):
    time_machine_bundle(tmp_path, "Mac.sparsebundle", [T0])
    assert scan(tmp_path, max_seconds=0) == {
        "truncated": True,
        "sources": [],
        "more_sources": 0,
        "unrecognised": [],
        "more_unrecognised": 0,
    }


# Real repositories made by the real tools, read by fetch_backups.py as the
# volume's owner. Module-scoped: one account and volume for all of them.


@pytest.fixture(scope="module")
def volume(wrappers):
    with backup_tools.backup_volume(wrappers) as (name, path):
        yield name, path


@pytest.fixture
def tools(tmp_path):
    backup_tools.make_tree(tmp_path / "source")
    return backup_tools.Tools(tmp_path)


def fetch_source(wrappers, volume, folder):
    name, path = volume
    backup_tools.give_to(path / folder, name)
    return backup_tools.source_at(backup_tools.fetch(wrappers, name), folder)


def assert_written_after(found, started, seconds=60):
    """found (ISO, whole seconds) is when the tool finished a backup it
    records as started at `started`: not before it, and soon after."""
    found = backup_tools.utc(found).timestamp()
    assert started - 1 <= found <= started + seconds, (found, started)


@pytest.mark.root
def test_real_rdiff_backup(wrappers, volume, tools, tmp_path):
    require_tool("rdiff-backup")
    mirror = volume[1] / "rdiff"
    tools.rdiff_backup(tmp_path / "source", mirror)
    next_second()  # sessions are named by the second
    (tmp_path / "source" / "later.txt").write_text("added later\n")
    tools.rdiff_backup(tmp_path / "source", mirror)
    sessions = tools.rdiff_backup_sessions(mirror)
    source = fetch_source(wrappers, volume, "rdiff")
    assert (source["format"], source["state"]) == ("rdiff_backup", "complete")
    assert source["backups"] == len(sessions) == 2
    assert source["last_backup"] == iso(sessions[-1])


@pytest.mark.root
def test_real_restic(wrappers, volume, tools, tmp_path):
    require_tool("restic")
    repository = volume[1] / "restic"
    tools.restic_backup(tmp_path / "source", repository)
    (tmp_path / "source" / "later.txt").write_text("added later\n")
    tools.restic_backup(tmp_path / "source", repository)
    snapshots = tools.restic_snapshots(repository)
    source = fetch_source(wrappers, volume, "restic")
    assert (source["format"], source["state"]) == ("restic", "complete")
    assert source["backups"] == len(snapshots) == 2
    newest = max(backup_tools.utc(snapshot["time"]).timestamp() for snapshot in snapshots)
    assert_written_after(source["last_backup"], newest)


@pytest.mark.root
def test_real_restic_tag_is_not_a_backup(wrappers, volume, tools, tmp_path):
    require_tool("restic")
    repository = volume[1] / "restic-tagged"
    tools.restic_backup(tmp_path / "source", repository)
    # As if the backup had run an hour ago: every file it wrote, an hour older.
    for directory, _subdirectories, files in os.walk(repository):
        for name in files:
            path = os.path.join(directory, name)
            info = os.stat(path)
            os.utime(path, (info.st_atime - HOUR, info.st_mtime - HOUR))
    backed_up = max(os.stat(path).st_mtime for path in (repository / "snapshots").iterdir())
    tools.restic_tag(repository, "kept")
    source = fetch_source(wrappers, volume, "restic-tagged")
    assert source["backups"] == len(tools.restic_snapshots(repository)) == 1
    # The backup's time (its index was saved a moment before its snapshot),
    # not the tag's, now.
    assert backed_up - 5 <= backup_tools.utc(source["last_backup"]).timestamp() <= backed_up


def _old_source_files(source, count=6):
    """Files last edited a month ago, as a copy tool finds them."""
    month_ago = time.time() - 30 * DAY
    for index in range(count):
        touch(source / "work" / f"draft-{index}.txt", month_ago, b"draft\n")


@pytest.mark.root
@pytest.mark.parametrize("tool", ["rsync", "rclone"])
def test_real_copy_tools_make_a_copy_dated_by_the_sync(wrappers, volume, tools, tmp_path, tool):
    require_tool(tool)
    _old_source_files(tmp_path / "source")
    started = time.time()
    target = volume[1] / f"{tool}-mirror"
    if tool == "rsync":
        tools.rsync_mirror(tmp_path / "source", target)
    else:
        tools.rclone_sync(tmp_path / "source", target)
    # The copy kept the month-old times; the scan dates it by its writes.
    assert os.stat(target / "work" / "draft-0.txt").st_mtime < started - 29 * DAY
    source = fetch_source(wrappers, volume, f"{tool}-mirror")
    assert (source["format"], source["evidence"]) == ("copy", "copy")
    assert_written_after(source["last_backup"], started)


@pytest.mark.root
def test_real_restic_killed_stays_in_progress_from_its_lock(wrappers, volume, tools, tmp_path):
    """A backup killed mid-way leaves its lock: in progress since the lock
    was written, however old the lock grows (it used to turn complete once
    the lock was 30 minutes old, so it never stalled)."""
    require_tool("restic")
    repository = volume[1] / "restic-killed"
    tools.restic_backup(tmp_path / "source", repository)
    # Reading stdin that never ends, it holds its lock until killed.
    running = subprocess.Popen(
        ["restic", "--no-cache", "-r", str(repository), "backup", "--stdin"],
        env=tools.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: any((repository / "locks").iterdir()), "restic's lock", seconds=60)
    finally:
        running.kill()
        running.wait()
        running.stdin.close()
    (lock,) = (repository / "locks").iterdir()
    # As if killed two hours ago: the lock is no longer refreshed.
    two_hours_ago = time.time() - 2 * HOUR
    os.utime(lock, (two_hours_ago, two_hours_ago))
    source = fetch_source(wrappers, volume, "restic-killed")
    assert (source["state"], source["backups"]) == ("in_progress", 1)
    assert source["in_progress_since"] == iso(int(two_hours_ago))


@pytest.mark.root
def test_real_back_in_time_counts_hard_linked_files_once(wrappers, volume, tools, tmp_path):
    require_tool("backintime")
    (tmp_path / "source" / "big.bin").write_bytes(os.urandom(2 << 20))
    target = volume[1] / "bit-links"
    config = tools.backintime_config(tmp_path / "source", target, "linkhost", "ann")
    tools.backintime_backup(config)
    next_second()  # snapshots are named by the second
    (tmp_path / "source" / "later.txt").write_text("a change, so that a snapshot is taken\n")
    tools.backintime_backup(config)
    assert len(tools.backintime_snapshots(config)) == 2
    source = fetch_source(wrappers, volume, "bit-links/backintime/linkhost/ann/1")
    # Both snapshots hold big.bin, as one file with two links.
    assert (2 << 20) <= source["size_bytes"] < (3 << 20), source["size_bytes"]


@pytest.mark.root
def test_real_borg(wrappers, volume, tools, tmp_path):
    require_tool("borg")
    repository = volume[1] / "borg"
    tools.borg_backup(tmp_path / "source", repository, "first")
    (archive,) = tools.borg_archives(repository)
    source = fetch_source(wrappers, volume, "borg")
    assert (source["format"], source["state"]) == ("borg", "complete")
    assert source["evidence"] == "repository_change"
    # Borg 1.x prints local time without a zone; the tools run with TZ=UTC.
    started = datetime.datetime.fromisoformat(archive["time"]).replace(tzinfo=UTC)
    assert_written_after(source["last_backup"], started.timestamp())


@pytest.mark.root
def test_real_borg_prune_moves_the_date_which_is_never_called_a_backup(
    wrappers, volume, tools, tmp_path
):
    """borg prune and compact, with no new archive, change what the scan can
    see: the date is reported as the last change to the repository."""
    require_tool("borg")
    repository = volume[1] / "borg-pruned"
    tools.borg_backup(tmp_path / "source", repository, "first")
    tools.borg_backup(tmp_path / "source", repository, "second")
    (_, newest_archive) = tools.borg_archives(repository)
    next_second()  # so that the maintenance's date is later than the archive's
    pruned_at = time.time()
    tools.run("borg", "prune", "--keep-last", "1", str(repository))
    tools.run("borg", "compact", str(repository))
    assert [archive["name"] for archive in tools.borg_archives(repository)] == ["second"]
    source = fetch_source(wrappers, volume, "borg-pruned")
    assert source["evidence"] == "repository_change"
    archived = datetime.datetime.fromisoformat(newest_archive["time"]).replace(tzinfo=UTC)
    # Later than the newest archive: a date that only the maintenance explains.
    assert backup_tools.utc(source["last_backup"]).timestamp() >= int(pruned_at)
    assert backup_tools.utc(source["last_backup"]) > archived


@pytest.mark.root
def test_real_borg2(wrappers, volume, tools, tmp_path):
    require_tool("borg2")
    repository = volume[1] / "borg2"
    tools.borg2_backup(tmp_path / "source", repository, "first")
    (archive,) = tools.borg2_archives(repository)
    source = fetch_source(wrappers, volume, "borg2")
    assert (source["format"], source["state"]) == ("borg2", "complete")
    # borg2 2.0.0b5 (Debian 12) writes Borg 1's segment layout.
    assert source["evidence"] == "repository_change"
    assert_written_after(source["last_backup"], backup_tools.utc(archive["time"]).timestamp())


@pytest.mark.root
def test_real_duplicity(wrappers, volume, tools, tmp_path):
    require_tool("duplicity")
    target = volume[1] / "duplicity"
    tools.duplicity_backup(tmp_path / "source", target, "full")
    next_second()  # backup sets are named by the second
    (tmp_path / "source" / "later.txt").write_text("added later\n")
    tools.duplicity_backup(tmp_path / "source", target, "incremental")
    chain_end, sets = tools.duplicity_status(target)
    source = fetch_source(wrappers, volume, "duplicity")
    assert (source["format"], source["state"]) == ("duplicity", "complete")
    assert source["machine"] == socket.gethostname()
    assert source["backups"] == sets == 2
    assert source["last_backup"] == iso(chain_end.timestamp())


@pytest.mark.root
def test_real_back_in_time(wrappers, volume, tools, tmp_path):
    require_tool("backintime")
    target = volume[1] / "bit"
    config = tools.backintime_config(tmp_path / "source", target, "testhost", "ann")
    tools.backintime_backup(config)
    (snapshot_id,) = tools.backintime_snapshots(config)
    source = fetch_source(wrappers, volume, "bit/backintime/testhost/ann/1")
    assert (source["format"], source["state"], source["backups"]) == ("back_in_time", "complete", 1)
    assert source["machine"] == socket.gethostname()
    # The id is the client's local time (UTC here), when the snapshot started.
    started = datetime.datetime.strptime(snapshot_id[:15], "%Y%m%d-%H%M%S").replace(tzinfo=UTC)
    assert_written_after(source["last_backup"], started.timestamp())


def test_a_damaged_backup_at_the_volume_root_still_lets_the_rest_be_listed(tmp_path):
    touch(tmp_path / "kopia.repository.f", T0, b"not json")
    time_machine_bundle(tmp_path, "Mac.sparsebundle", [T0])
    report = scan(tmp_path)
    assert [source["machine"] for source in report["sources"]] == ["Mac"]
    assert unrecognised_paths(report) == ["."]


# Bounds on what a report carries, whatever the volume holds


def hostile_name(index, length=255):
    """A name of `length` bytes with a newline, ESC, other control bytes and
    bytes that are not UTF-8: escaped, it grows about fourfold."""
    head = b"\n\x1b[31m\x01\x7f\xff\xfe" + str(index).encode()
    return head + b"\x1b" * (length - len(head))


def test_a_root_with_thousands_of_long_hostile_names_gives_a_small_report(tmp_path):
    root = os.fsencode(tmp_path)
    for index in range(3000):
        os.mkdir(root + b"/" + hostile_name(index))
    report = scan(tmp_path)
    size = len(json.dumps(report))
    assert size < 64 * 1024, size
    kept = report["unrecognised"]
    assert 0 < len(kept) <= discovery.MAX_FOLDERS
    assert len(kept) + report["more_unrecognised"] == 3000
    for item in kept:
        assert len(item["path"]) <= found.MAX_NAME_CHARS
        assert item["path"].endswith("\u2026")
        assert item["path"].isprintable()
        assert item["path"].startswith("\\x0a\\x1b[31m\\x01\\x7f\\xff\\xfe")


def test_many_sources_are_bounded_and_counted(tmp_path):
    for index in range(discovery.MAX_SOURCES + 30):
        time_machine_bundle(tmp_path, f"Mac{index:03}.sparsebundle", [T0], bands=1)
    report = scan(tmp_path)
    assert len(report["sources"]) == discovery.MAX_SOURCES
    assert report["more_sources"] == 30
    assert report["sources"][0]["machine"] == "Mac000"
    assert len(json.dumps(report)) < 64 * 1024


def test_a_root_too_large_to_list_reports_what_was_read(tmp_path):
    for index in range(500):
        (tmp_path / f"folder{index:03}").mkdir()
    report = scan(tmp_path, max_entries=300)
    assert report["truncated"] is True
    listed = len(report["unrecognised"]) + report["more_unrecognised"]
    assert 250 <= listed <= 300  # the entries read before the bound, noise aside
    assert all(item["path"].startswith("folder") for item in report["unrecognised"])


def test_display_cuts_long_names_between_escapes():
    name = "a" * 290 + "\n" * 10
    shown = found.display(name)
    assert len(shown) <= found.MAX_NAME_CHARS
    assert shown == "a" * 290 + "\\x0a" * 2 + "\u2026"
    assert found.display("short\x1bname") == "short\\x1bname"
    assert found.display_path(("x" * 200, "y" * 200)).endswith("y\u2026")


def test_duplicati_with_a_custom_prefix_is_recognised_per_prefix(tmp_path):
    """--prefix keeps several jobs in one folder; a prefix has no hyphen."""
    target = tmp_path / "shared"
    touch(target / "laptop-20240229T090000Z.dlist.zip.aes", T0 - DAY)
    touch(target / f"laptop-b{'a' * 32}.dblock.zip.aes", T0 - DAY)
    touch(target / "desktop-20240301T090000Z.dlist.7z.gpg", T0)
    touch(target / f"desktop-i{'b' * 32}.dindex.7z.gpg", T0)
    touch(target / f"newjob-b{'c' * 32}.dblock.zip", T0)
    touch(tmp_path / "duplicati-20240301T090000Z.dlist.zip", T0)
    touch(tmp_path / "notes.txt", T0)
    report = scan(tmp_path)
    found = [(s["path"], s["machine"], s["last_backup"], s["state"]) for s in report["sources"]]
    assert found == [
        (".", None, iso(T0), "complete"),
        ("shared", "desktop", iso(T0), "complete"),
        ("shared", "laptop", iso(T0 - DAY), "complete"),
        ("shared", "newjob", None, "in_progress"),
    ]
    # The root's own Duplicati files are the source's; the rest is listed.
    assert unrecognised_paths(report) == []  # a loose file is no folder


def test_file_history_without_its_filehistory_folder_is_recognised(tmp_path):
    """A share picked as the File History drive itself: user/PC/{Configuration,Data}."""
    pc = tmp_path / "ann" / "LAPTOP"
    touch(pc / "Configuration" / "Config1.xml", T0 - DAY)
    touch(pc / "Configuration" / "Config1.edb", T0)
    set_time(pc / "Configuration", T0 - DAY)
    touch(pc / "Data" / "$OF" / "C" / "Users" / "ann" / "notes.txt", T0 - DAY)
    # A folder with Data alone is not File History.
    (tmp_path / "photos" / "2024" / "Data").mkdir(parents=True)
    report = scan(tmp_path)
    assert [
        (s["format"], s["machine"], s["path"], s["last_backup"]) for s in report["sources"]
    ] == [("windows_file_history", "LAPTOP", "ann/LAPTOP", iso(T0))]
    assert unrecognised_paths(report) == ["photos"]


# Size per computer


def allocated(path):
    """What du counts: the allocated blocks of path and all it holds."""
    total = 0
    for directory, _subdirectories, files in os.walk(path):
        total += os.lstat(directory).st_blocks * 512
        for name in files:
            total += os.lstat(os.path.join(directory, name)).st_blocks * 512
    return total


def test_every_source_reports_the_space_it_takes(tmp_path):
    bundle = time_machine_bundle(tmp_path, "Mac.sparsebundle", [T0], bands=20)
    for index in range(20):
        (bundle / "bands" / f"{index:x}").write_bytes(os.urandom(8192))
    touch(tmp_path / "duplicati-20240301T090000Z.dlist.zip", T0, os.urandom(5000))
    touch(tmp_path / f"duplicati-b{'a' * 32}.dblock.zip", T0, os.urandom(70000))
    touch(tmp_path / "not-duplicati.bin", T0, os.urandom(90000))
    report = scan(tmp_path, sizes=True)
    sizes = {s["path"]: (s["size_bytes"], s["size_estimated"]) for s in report["sources"]}
    duplicati_files = [
        tmp_path / "duplicati-20240301T090000Z.dlist.zip",
        tmp_path / f"duplicati-b{'a' * 32}.dblock.zip",
    ]
    assert sizes == {
        ".": (sum(os.lstat(path).st_blocks * 512 for path in duplicati_files), False),
        "Mac.sparsebundle": (allocated(bundle), False),
    }
    assert sizes["Mac.sparsebundle"][0] >= 20 * 8192


def test_a_size_cut_short_is_an_estimate_and_the_others_still_get_theirs(tmp_path, monkeypatch):
    monkeypatch.setattr(sizes_module, "SIZE_MAX_ENTRIES", 200)
    huge = time_machine_bundle(tmp_path, "Huge.sparsebundle", [T0], bands=1000)
    small = time_machine_bundle(tmp_path, "Small.sparsebundle", [T0], bands=3)
    for index in range(3):
        (small / "bands" / f"{index:x}").write_bytes(os.urandom(4096))
    report = scan(tmp_path, sizes=True)
    found = {s["machine"]: (s["size_bytes"], s["size_estimated"]) for s in report["sources"]}
    assert found["Small"] == (allocated(small), False)
    huge_size, estimated = found["Huge"]
    assert estimated is True
    assert 0 < huge_size < allocated(huge)
    assert report["truncated"] is False  # sizes have their own budget


# Regressions of issue 23: each was reported wrong before.


def test_a_bundle_named_by_time_machine_on_info_plist_is_time_machine(tmp_path):
    """The ComputerName stream Time Machine writes on Info.plist, as Samba's
    streams_xattr keeps it, marks a bundle whose MachineID is not there."""
    bundle = backup_layouts.sparsebundle(tmp_path, "Office-Mac.sparsebundle", machine_id=False)
    os.setxattr(
        bundle / "Info.plist",
        "user.DosStream.com.apple.backupd.ComputerName:$DATA",
        b"Office-Mac\0",
    )
    source = only_source(scan(tmp_path))
    assert (source["format"], source["evidence"]) == ("time_machine", "last_written")


def test_a_carbon_copy_cloner_image_is_a_folder_dated_by_its_bands(tmp_path):
    backup_layouts.sparsebundle(tmp_path, "CCC Backup.sparsebundle", machine_id=False)
    report = scan(tmp_path)
    assert report["sources"] == []
    assert report["unrecognised"] == [{"path": "CCC Backup.sparsebundle", "modified": iso(T0)}]


def test_a_time_machine_attempt_failing_every_hour_is_never_a_completed_backup(tmp_path):
    bundle = backup_layouts.sparsebundle(tmp_path, "Air.sparsebundle")
    set_time(bundle / "bands" / "1", time.time() - HOUR)  # the last failed attempt
    source = only_source(scan(tmp_path))
    assert source["evidence"] == "last_written"
    assert source["backups"] is None


def test_dates_in_the_future_are_refused(tmp_path):
    future = datetime.datetime(2099, 1, 1, tzinfo=UTC).timestamp()
    restic_repository(tmp_path / "restic", [T0, future])
    duplicati = tmp_path / "duplicati"
    touch(duplicati / "duplicati-20240301T090000Z.dlist.zip", T0)
    touch(duplicati / "duplicati-20990101T000000Z.dlist.zip", T0)
    touch(tmp_path / "misc" / "file", future)
    set_time(tmp_path / "misc", T0)
    report = scan(tmp_path)
    assert [(s["format"], s["last_backup"]) for s in report["sources"]] == [
        ("duplicati", iso(T0)),
        ("restic", iso(T0)),
    ]
    assert report["unrecognised"] == [{"path": "misc", "modified": iso(T0)}]


def test_a_backup_in_progress_starts_at_its_own_evidence(tmp_path):
    """A killed restic backup stays in progress from its lock's time (it
    used to turn complete once the lock was 30 minutes old)."""
    killed = time.time() - 3 * DAY
    backup_layouts.restic_repository(tmp_path / "restic", backups=[T0], lock=killed)
    source = only_source(scan(tmp_path))
    assert (source["state"], source["in_progress_since"]) == ("in_progress", iso(killed))


def test_restic_tag_is_not_a_backup(tmp_path):
    backup_layouts.restic_repository(tmp_path / "restic", backups=[T0], tags=[T0 + DAY])
    source = only_source(scan(tmp_path))
    assert (source["last_backup"], source["backups"]) == (iso(T0), 2)


def test_hard_linked_files_take_their_space_once(tmp_path):
    """Back In Time snapshots share unchanged files as hard links."""
    profile = tmp_path / "backintime" / "host" / "ann" / "1"
    backintime_snapshot(profile, "20240229-100000-456", T0 - DAY)
    backintime_snapshot(profile, "20240301-100000-456", T0)
    big = profile / "20240229-100000-456" / "backup" / "big.bin"
    big.write_bytes(os.urandom(1 << 20))
    os.link(big, profile / "20240301-100000-456" / "backup" / "big.bin")
    source = scan(tmp_path, sizes=True)["sources"][0]
    assert (1 << 20) <= source["size_bytes"] < (1 << 20) + (256 << 10)


def test_a_mirror_is_dated_by_its_writes_not_by_the_times_it_preserved(tmp_path):
    backup_layouts.mirror_copy(tmp_path / "Mirror")
    touch(tmp_path / "Saved here" / "a.txt", time.time())  # written where edited
    report = scan(tmp_path)
    source = only_source(report)
    assert (source["format"], source["path"], source["evidence"]) == ("copy", "Mirror", "copy")
    written = datetime.datetime.strptime(source["last_backup"], "%Y-%m-%dT%H:%M:%SZ")
    assert abs(written.replace(tzinfo=UTC).timestamp() - time.time()) < 600
    assert unrecognised_paths(report) == ["Saved here"]


def test_image_files_loose_at_the_volume_root_are_sources_owning_only_their_files(tmp_path):
    backup_layouts.macrium_set(tmp_path)
    backup_layouts.acronis_tibx(tmp_path)
    backup_layouts.veeam_job(tmp_path)
    touch(tmp_path / "notes.txt", T0)
    (tmp_path / "photos").mkdir()
    report = scan(tmp_path)
    assert sorted((s["format"], s["path"]) for s in report["sources"]) == [
        ("acronis", "."),
        ("macrium", "."),
        ("veeam", "."),
    ]
    assert unrecognised_paths(report) == ["photos"]


def test_image_files_own_only_their_own_names_in_a_shared_folder(tmp_path):
    """What a source owns is what rm-backup.py deletes and sizes.py counts:
    a note that merely starts with the backup's name is not the backup's."""
    folder = tmp_path / "Images"
    backup_layouts.acronis_tibx(folder)
    backup_layouts.veeam_job(folder, job="PC")
    touch(folder / "Entire PC notes.txt", T0, b"n" * 100_000)
    touch(folder / "PC inventory.xlsx", T0, b"n" * 100_000)
    report = scan(tmp_path, sizes=True)
    sizes = {source["format"]: source["size_bytes"] for source in report["sources"]}

    def blocks(suffixes):
        paths = [path for path in folder.iterdir() if path.suffix in suffixes]
        return sum(os.lstat(path).st_blocks * 512 for path in paths)

    assert sizes["acronis"] == blocks((".tibx",))
    assert sizes["veeam"] == blocks((".vbk", ".vib", ".vbm"))
    assert sizes["acronis"] + sizes["veeam"] < blocks((".tibx", ".vbk", ".vib", ".vbm", ".txt"))


def _arq_config_is_a_fifo(root):
    backup_layouts.arq_set(root / "Arq")
    (root / "Arq" / "backupconfig.json").unlink()
    os.mkfifo(root / "Arq" / "backupconfig.json")


def _arq_config_is_huge(root):
    backup_layouts.arq_set(root / "Arq")
    (root / "Arq" / "backupconfig.json").write_bytes(b"{" * (1 << 20))


def _freefilesync_database_is_a_symlink(root):
    backup_layouts.freefilesync_folder(root / "Arq")
    (root / "Arq" / "sync.ffs_db").unlink()
    (root / "Arq" / "sync.ffs_db").symlink_to("/etc/passwd")


def _backupdb_machine_is_a_symlink(root):
    (root / "Arq" / "Backups.backupdb").mkdir(parents=True)
    (root / "Arq" / "Backups.backupdb" / "Mac").symlink_to("/etc")


@pytest.mark.parametrize(
    "damage",
    [
        _arq_config_is_a_fifo,
        _arq_config_is_huge,
        _freefilesync_database_is_a_symlink,
        _backupdb_machine_is_a_symlink,
    ],
)
def test_new_formats_refuse_hostile_markers_and_report_the_folder(tmp_path, damage):
    """A marker that is a FIFO, too large or a symlink never stalls the scan,
    is never followed, and leaves the folder listed as unrecognised."""
    damage(tmp_path)
    report = scan(tmp_path, max_seconds=5)
    assert report["truncated"] is False
    assert report["sources"] == []
    assert unrecognised_paths(report)[0] == "Arq"


def test_an_urbackup_current_link_out_of_the_volume_is_read_not_followed(tmp_path):
    client = tmp_path / "urbackup" / "PC"
    backup_layouts.urbackup_client(client)
    (client / "current").unlink()
    (client / "current").symlink_to("/etc")
    set_time(client / "current", T0)
    source = only_source(scan(tmp_path, sizes=True))
    assert (source["machine"], source["last_backup"], source["backups"]) == ("PC", iso(T0), 2)
    # The size counts the link itself, never what it points at.
    assert source["size_bytes"] < 1 << 20


@pytest.mark.parametrize(
    "folder",
    [
        "Restored 2024-03-01 09.00 from snapshot (2)",
        "Restored 2024-03-01 11.00 EET from snapshot",  # as the portal names it
        "Palautettu 2024-03-01 11.00 EET tilannekuvasta (3)",  # in Finnish
    ],
)
def test_a_folder_the_portal_restored_from_a_snapshot_is_no_copy(tmp_path, folder):
    """snapshot-restore.py keeps the files' times too; its folder is the
    portal's, not a computer's copy."""
    backup_layouts.mirror_copy(tmp_path / folder)
    report = scan(tmp_path)
    assert report["sources"] == []
    assert unrecognised_paths(report) == [folder]
