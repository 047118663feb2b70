"""Backup layouts built from each product's documented on-disk format, with
what a right scan says about each: shared by the format tests and the truth
table (tests/test_backup_truth_table.py).

Each layout's documentation is cited in the recogniser that reads it
(wrappers/wrapperlib/discovery/<format>.py). Times are set explicitly;
st_ctime, which nothing can set, is the time the layout was built, as it
is for a copy tool writing over Samba.
"""

import datetime
import json
import os
import plistlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

UTC = datetime.UTC
T0 = datetime.datetime(2024, 3, 1, 9, 0, 0, tzinfo=UTC).timestamp()
HOUR = 3600
DAY = 24 * HOUR


def iso(timestamp):
    return datetime.datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def touch(path, when, content=b""):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    os.utime(path, (when, when))
    return path


def set_time(path, when):
    os.utime(path, (when, when), follow_symlinks=False)


def link(path, target, when):
    path.symlink_to(target)
    set_time(path, when)


class Recent:
    """Matches a report time within a few minutes of now (a copy's write)."""

    def __eq__(self, other):
        if not isinstance(other, str):
            return False
        moment = datetime.datetime.strptime(other, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        return abs(moment.timestamp() - time.time()) < 600

    def __repr__(self):
        return "<about now>"


RECENT = Recent()


# Veeam


def veeam_job(folder, job="LAPTOP-7 - Daily", completed=T0, interrupted=None, metadata=True):
    """Two sessions (a full and an incremental) completed by `completed`;
    with interrupted, a third incremental written after the .vbm."""
    touch(folder / f"{job}D2024-02-28T220033_2DCD.vbk", completed - DAY)
    touch(folder / f"{job}D2024-02-29T220028_3BA6.vib", completed - 30)
    if interrupted is not None:
        touch(folder / f"{job}D2024-03-01T220030_A6A5.vib", interrupted)
    if metadata:
        touch(folder / f"{job}.vbm", completed, b"<BackupMeta Version='1'/>")


# Macrium Reflect


def macrium_set(folder, image_id="4F6F6CACA58B077D", increments=3, newest=T0, kind="mrimg"):
    for number in range(increments):
        when = newest - (increments - 1 - number) * DAY
        touch(folder / f"{image_id}-{number:02d}-{number:02d}.{kind}", when, b"MACRIUM")


# Acronis


def acronis_tibx(folder, name="Entire PC", newest=T0):
    touch(folder / f"{name}.tibx", newest - 7 * DAY)
    touch(folder / f"{name}_0001.tibx", newest)


def acronis_tib(folder, name="my_documents", newest=T0):
    touch(folder / f"{name}_full_b1_s1_v1.tib", newest - 2 * DAY)
    touch(folder / f"{name}_inc_b1_s2_v1.tib", newest - DAY)
    touch(folder / f"{name}_inc_b1_s3_v1.tib", newest)


# Synology Hyper Backup


def hyper_backup(folder, written=T0):
    touch(folder / "SynoInfo.conf", written - 30 * DAY, b'hostname="office-nas"\n')
    touch(folder / "_Syno_TaskConfig", written - 30 * DAY, b"{}")
    touch(folder / "Config" / "version_info.db", written, b"x")
    touch(folder / "Control" / "target_info.db", written, b"x")
    touch(folder / "Pool" / "0" / "0.bucket", written - DAY, b"x")
    for name in ("Config", "Control", "Pool"):
        set_time(folder / name, written - DAY)
    set_time(folder, written - 30 * DAY)


# UrBackup


def urbackup_client(folder, completed=T0, running=None):
    for name, when in (("240228-2200", completed - DAY), ("240229-2200", completed - HOUR)):
        touch(folder / name / ".hashes" / "Documents" / "report.txt", when, b"hash")
        touch(folder / name / "Documents" / "report.txt", T0 - 30 * DAY, b"text")
        set_time(folder / name, when)
    link(folder / "current", "240229-2200", completed)
    if running is not None:
        touch(folder / "240301-2200" / ".hashes" / "Documents" / "x", running, b"hash")
        set_time(folder / "240301-2200", running)


# Arq 7


def arq_set(folder, records=(T0 - DAY, T0), computer="ann-macbook"):
    config = {"backupName": "Back up to NAS", "computerName": computer, "isEncrypted": True}
    touch(folder / "backupconfig.json", T0 - 30 * DAY, json.dumps(config).encode())
    touch(folder / "backupfolders.json", T0 - 30 * DAY, b"{}")
    uuid = "5E7D9CE7-04DA-42E3-B55E-B35D76F29D03"
    touch(folder / "backupfolders" / uuid / "backupfolder.json", T0 - 30 * DAY, b"{}")
    for when in records:
        digits = f"{int(when):012d}"
        path = folder / "backupfolders" / uuid / "backuprecords" / digits[:5]
        # The record file is written when the backup completes, its
        # modification time is anything a later copy left.
        touch(path / f"{digits[5:]}.backuprecord", T0 + 9 * DAY, b"ARQO")
    (folder / "treepacks").mkdir()
    (folder / "blobpacks").mkdir()


# Time Machine into a folder


def backupdb(folder, mac="Ann's iMac", completed=T0, running=None):
    machine = folder / "Backups.backupdb" / mac
    for name, when in (("2024-02-29-090000", completed - DAY), ("2024-03-01-090000", completed)):
        touch(machine / name / "Macintosh HD" / "Users" / "ann" / "notes.txt", T0 - 30 * DAY)
        set_time(machine / name, when - 60)
    link(machine / "Latest", "2024-03-01-090000", completed)
    if running is not None:
        touch(machine / "2024-03-02-090000.inProgress" / "partial", running)
        set_time(machine / "2024-03-02-090000.inProgress", running)


# Mirrors and copies


def freefilesync_folder(folder, synced=T0, locked=None):
    for index in range(3):
        touch(folder / f"file{index}.txt", T0 - 30 * DAY, b"text")
    touch(folder / "sync.ffs_db", synced, b"zWRSFFS\x00")
    if locked is not None:
        touch(folder / "sync.ffs_lock", locked, b"lock")


def mirror_copy(folder, files=8):
    """What rsync -a, robocopy /MIR or rclone sync leave: the source files'
    own (old) modification times, written now."""
    for index in range(files):
        touch(folder / "Documents" / f"report-{index}.txt", T0 - (30 + index) * DAY, b"text")
    set_time(folder / "Documents", T0 - 30 * DAY)


def cobian_separated(folder):
    """Cobian Reflector's "Create new separated backups" (its help, "Tasks"):
    a copy per run named by the item and the date and time, "Item1
    2002-01-11 ; 12;00", holding the source files with their own times."""
    for run in ("Documents 2024-02-29 ; 22;00", "Documents 2024-03-01 ; 22;00"):
        for index in range(3):
            touch(folder / run / f"letter-{index}.odt", T0 - (40 + index) * DAY, b"text")


# Time Machine bundles


def sparsebundle(parent, name, machine_id=True, history=None, band_time=T0, bands=4):
    bundle = parent / name
    (bundle / "bands").mkdir(parents=True)
    for index in range(bands):
        touch(bundle / "bands" / f"{index:x}", band_time - DAY)
    touch(bundle / "bands" / "0", band_time)
    set_time(bundle / "bands", band_time - DAY)
    info = {"diskimage-bundle-type": "com.apple.diskimage.sparsebundle", "band-size": 8 << 20}
    touch(bundle / "Info.plist", band_time - 30 * DAY, plistlib.dumps(info))
    if machine_id:
        touch(
            bundle / "com.apple.TimeMachine.MachineID.plist",
            band_time - 30 * DAY,
            plistlib.dumps({"VerificationState": 1}),
        )
    if history is not None:
        snapshots = [
            {
                "com.apple.backupd.SnapshotCompletionDate": datetime.datetime.fromtimestamp(
                    when, UTC
                ).replace(tzinfo=None)
            }
            for when in history
        ]
        touch(
            bundle / "com.apple.TimeMachine.SnapshotHistory.plist",
            band_time,
            plistlib.dumps({"Snapshots": snapshots}),
        )
    return bundle


# Windows 7 Backup and Restore


def windows_backup(pc, completed=T0, interrupted=None):
    backup_set = pc / "Backup Set 2024-02-01 101010"
    touch(pc / "MediaID.bin", T0 - 30 * DAY)
    for name, when in (
        ("Backup Files 2024-02-01 101010", completed - DAY),
        ("Backup Files 2024-03-01 090000", completed),
    ):
        touch(backup_set / name / "Backup files 1.zip", when - 600)
        set_time(backup_set / name, when)
    touch(backup_set / "Catalogs" / "GlobalCatalog.wbcat", completed + 5)
    if interrupted is not None:
        run = backup_set / "Backup Files 2024-03-02 090000"
        touch(run / "Backup files 1.zip", interrupted)
        touch(run / "Backup files 2.zip", interrupted + HOUR)
        set_time(run, interrupted + HOUR)


def windows_image(pc, completed=T0, interrupted=None):
    image = pc / "Backup 2024-02-29 220000"
    touch(image / "3f2504e0-4f89-11d3-9a0c-0305e82c3301.vhdx", completed - HOUR, b"v" * 1000)
    touch(image / "BackupSpecs.xml", completed, b"<x/>")
    set_time(image, completed - 2 * HOUR)
    touch(pc / "MediaId", T0 - 30 * DAY)
    touch(pc / "Catalog" / "GlobalCatalog", completed + 5)
    if interrupted is not None:
        image = pc / "Backup 2024-03-02 220000"
        touch(image / "5a2504e0-4f89-11d3-9a0c-0305e82c3301.vhdx", interrupted + HOUR, b"v")
        touch(image / "BackupSpecs.xml", interrupted, b"<x/>")
        set_time(image, interrupted)


# restic and Borg 2


def restic_repository(path, backups=(), tags=(), lock=None):
    """backups: times of snapshot files each saved just after an index file
    (as `restic backup` does); tags: snapshot files written alone (as
    `restic tag` rewrites one)."""
    touch(path / "config", T0 - 30 * DAY, os.urandom(155))
    touch(path / "keys" / ("a" * 64), T0 - 30 * DAY, os.urandom(400))
    for index, when in enumerate(backups):
        touch(path / "index" / f"{index:02x}".ljust(64, "0"), when - 20, os.urandom(100))
        touch(path / "snapshots" / f"{index:02x}".ljust(64, "1"), when, os.urandom(190))
    for index, when in enumerate(tags):
        touch(path / "snapshots" / f"{index:02x}".ljust(64, "2"), when, os.urandom(250))
    touch(path / "data" / "0a" / ("0a" * 32), T0, os.urandom(100))
    (path / "index").mkdir(exist_ok=True)
    (path / "locks").mkdir()
    if lock is not None:
        touch(path / "locks" / ("f" * 64), lock, os.urandom(200))


def borg2_repository(path, archives=(T0,), lock=None):
    touch(path / "config" / "readme", T0 - DAY, b"This is a Borg Backup repository.\n")
    touch(path / "config" / "version", T0 - DAY, b"3\n")
    for index, when in enumerate(archives):
        touch(path / "archives" / (f"{index}" * 64), when, b"x")
    (path / "locks").mkdir()
    if lock is not None:
        touch(path / "locks" / "lock-1", lock, b"{}")


# The truth table's cases


@dataclass
class Case:
    """One layout, where its source should be found and what it should say.

    kind: "right" when the expected report is the exact truth, "honest"
    when it says that it can't know (last written, completion unknown).
    format None: the layout is no backup and must not be reported as one.
    """

    name: str
    build: Callable[[Path], None]
    path: str
    format: str | None
    expected: dict = field(default_factory=dict)
    kind: str = "right"


CASES = [
    Case(
        "Veeam Agent job, sessions completed",
        lambda root: veeam_job(root / "Veeam" / "LAPTOP-7"),
        "Veeam/LAPTOP-7",
        "veeam",
        {
            "machine": "LAPTOP-7 - Daily",
            "last_backup": iso(T0 - 30),
            "backups": 2,
            "state": "complete",
        },
    ),
    Case(
        "Veeam Agent job, last session interrupted",
        lambda root: veeam_job(root / "Veeam", interrupted=T0 + DAY),
        "Veeam",
        "veeam",
        {"last_backup": iso(T0 - 30), "state": "in_progress", "in_progress_since": iso(T0 + DAY)},
    ),
    Case(
        "Veeam backup files without their .vbm",
        lambda root: veeam_job(root / "Veeam", metadata=False),
        "Veeam",
        "veeam",
        {"last_backup": iso(T0 - 30), "evidence": "last_written"},
        kind="honest",
    ),
    Case(
        "Macrium Reflect image set, loose at the volume root",
        lambda root: macrium_set(root),
        ".",
        "macrium",
        {"last_backup": iso(T0), "backups": 3, "evidence": "last_written"},
        kind="honest",
    ),
    Case(
        "Macrium Reflect file and folder backup",
        lambda root: macrium_set(root / "Macrium", kind="mrbak", increments=2),
        "Macrium",
        "macrium",
        {"last_backup": iso(T0), "backups": 2, "evidence": "last_written"},
        kind="honest",
    ),
    Case(
        "Acronis .tibx at the volume root",
        lambda root: acronis_tibx(root),
        ".",
        "acronis",
        {"machine": "Entire PC", "last_backup": iso(T0), "evidence": "last_written"},
        kind="honest",
    ),
    Case(
        "Acronis .tib chain (before 2020)",
        lambda root: acronis_tib(root / "Acronis"),
        "Acronis",
        "acronis",
        {"machine": "my_documents", "last_backup": iso(T0), "backups": 3},
        kind="honest",
    ),
    Case(
        "Synology Hyper Backup .hbk",
        lambda root: hyper_backup(root / "office-nas_1.hbk"),
        "office-nas_1.hbk",
        "hyper_backup",
        {"machine": "office-nas_1", "last_backup": iso(T0), "evidence": "last_written"},
        kind="honest",
    ),
    Case(
        "UrBackup file backups",
        lambda root: urbackup_client(root / "urbackup" / "LAPTOP-7"),
        "urbackup/LAPTOP-7",
        "urbackup",
        {"machine": "LAPTOP-7", "last_backup": iso(T0), "backups": 2, "state": "complete"},
    ),
    Case(
        "UrBackup, a file backup under way",
        lambda root: urbackup_client(root / "urbackup" / "LAPTOP-7", running=T0 + DAY),
        "urbackup/LAPTOP-7",
        "urbackup",
        {"last_backup": iso(T0), "state": "in_progress", "in_progress_since": iso(T0 + DAY)},
    ),
    Case(
        "Arq 7 backup set",
        lambda root: arq_set(root / "Arq" / "5E7D9CE7"),
        "Arq/5E7D9CE7",
        "arq",
        {"machine": "ann-macbook", "last_backup": iso(T0), "backups": 2, "evidence": None},
    ),
    Case(
        "Time Machine into a folder (Backups.backupdb)",
        lambda root: backupdb(root),
        "Backups.backupdb/Ann's iMac",
        "time_machine",
        {"machine": "Ann's iMac", "last_backup": iso(T0), "backups": 2, "state": "complete"},
    ),
    Case(
        "Time Machine into a folder, a backup under way",
        lambda root: backupdb(root, running=T0 + HOUR),
        "Backups.backupdb/Ann's iMac",
        "time_machine",
        {"last_backup": iso(T0), "state": "in_progress", "in_progress_since": iso(T0 + HOUR)},
    ),
    Case(
        "FreeFileSync folder",
        lambda root: freefilesync_folder(root / "Sync"),
        "Sync",
        "freefilesync",
        {"last_backup": iso(T0), "evidence": "copy", "state": "complete"},
    ),
    Case(
        "rsync / robocopy / rclone mirror (times preserved)",
        lambda root: mirror_copy(root / "Mirror"),
        "Mirror",
        "copy",
        {"last_backup": RECENT, "evidence": "copy"},
    ),
    Case(
        "Cobian Reflector, separated copies",
        lambda root: cobian_separated(root / "Cobian"),
        "Cobian",
        "copy",
        {"last_backup": RECENT, "evidence": "copy"},
    ),
    Case(
        "Encrypted data disk image (.sparsebundle, no Time Machine files)",
        lambda root: sparsebundle(root, "Secret.sparsebundle", machine_id=False),
        "Secret.sparsebundle",
        None,
    ),
    Case(
        "Time Machine, macOS 11+ bundle without snapshot history",
        lambda root: sparsebundle(root, "Air.sparsebundle"),
        "Air.sparsebundle",
        "time_machine",
        {"last_backup": iso(T0), "evidence": "last_written"},
        kind="honest",
    ),
    Case(
        "Time Machine with a completion dated 2099",
        lambda root: sparsebundle(
            root,
            "Mini.sparsebundle",
            history=[T0 - DAY, T0, datetime.datetime(2099, 1, 1, tzinfo=UTC).timestamp()],
        ),
        "Mini.sparsebundle",
        "time_machine",
        {"last_backup": iso(T0), "backups": 2, "evidence": None},
    ),
    Case(
        "Time Machine, first backup abandoned",
        lambda root: sparsebundle(root, "New Mac.tmp.sparsebundle", band_time=T0),
        "New Mac.tmp.sparsebundle",
        "time_machine",
        # Since the bundle was made (its Info.plist), not since a scan saw it.
        {"state": "in_progress", "last_backup": None, "in_progress_since": iso(T0 - 30 * DAY)},
    ),
    Case(
        "Windows 7 Backup and Restore, completed",
        lambda root: windows_backup(root / "WORKPC"),
        "WORKPC",
        "windows_backup",
        {"last_backup": iso(T0), "backups": 2, "state": "complete"},
    ),
    Case(
        "Windows 7 Backup and Restore, interrupted",
        lambda root: windows_backup(root / "WORKPC", interrupted=T0 + DAY),
        "WORKPC",
        "windows_backup",
        {
            "last_backup": iso(T0),
            "backups": 2,
            "state": "in_progress",
            "in_progress_since": iso(T0 + DAY),
        },
    ),
    Case(
        "Windows system image, completed",
        lambda root: windows_image(root / "WindowsImageBackup" / "WORKPC"),
        "WindowsImageBackup/WORKPC",
        "windows_system_image",
        {"last_backup": iso(T0), "backups": 1, "state": "complete"},
    ),
    Case(
        "Windows system image, interrupted",
        lambda root: windows_image(root / "WindowsImageBackup" / "WORKPC", interrupted=T0 + DAY),
        "WindowsImageBackup/WORKPC",
        "windows_system_image",
        {
            "last_backup": iso(T0),
            "backups": 1,
            "state": "in_progress",
            "in_progress_since": iso(T0 + DAY),
        },
    ),
    Case(
        "restic after `restic tag`",
        lambda root: restic_repository(root / "restic", backups=[T0 - DAY, T0], tags=[T0 + DAY]),
        "restic",
        "restic",
        {"last_backup": iso(T0), "backups": 3, "state": "complete"},
    ),
    Case(
        "restic backup killed (lock left two days ago)",
        lambda root: restic_repository(root / "restic", backups=[T0], lock=T0 + DAY),
        "restic",
        "restic",
        {"last_backup": iso(T0), "state": "in_progress", "in_progress_since": iso(T0 + DAY)},
    ),
    Case(
        "Borg 2 backup killed (lock left)",
        lambda root: borg2_repository(root / "borg2", lock=T0 + DAY),
        "borg2",
        "borg2",
        {"last_backup": iso(T0), "state": "in_progress", "in_progress_since": iso(T0 + DAY)},
    ),
]
