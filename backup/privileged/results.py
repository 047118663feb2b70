"""One typed result per wrapper the portal runs, as wrappers/README.md
documents them, and one parsing function per result.

Wrapper output is partly derived from users' volumes (names, plist
contents, sizes), so the client parses it here, once: every field gets its
type, range and bound (fields.py), and a result that breaks its shape is
the wrapper's ``Failed`` with the reason, never a half-checked dict that
each consumer re-checks. TypedDicts keep consumers' ``result["key"]``
access; the parsed dict holds only the documented keys (an extra key is
dropped, so that a newer wrapper's addition doesn't break an older portal,
and nothing unchecked passes on).
"""

import re
from collections.abc import Callable
from typing import Literal, TypedDict, TypeVar, cast, final

from .client import Failed
from .fields import Fields, Malformed, reader_for

T = TypeVar("T")

FILESYSTEMS = ("ext4", "btrfs", "xfs")
GROWN = ("online", "offline")
# Sources fetch_backups.py recognises, and how "last_backup" was found when
# not from the format's own record (wrappers/README.md, "A source").
STATES = ("complete", "in_progress", "failed")
EVIDENCE = ("last_written", "bands_sample", "repository_change", "copy")
ENTRY_TYPES = ("file", "dir", "link", "other")
# A browse entry's ref: canonical base64url of a name of at most 255 bytes.
REF = re.compile(r"[A-Za-z0-9_-]{1,344}")
# fetch_backups.py's own bound on each list of a report.
MAX_REPORTED = 100


def parse(wrapper: str, raw: object, build: Callable[[Fields], T]) -> T:
    """``build`` applied to the result object, or ``Failed`` saying what is wrong."""
    try:
        return build(reader_for("", raw))
    except Malformed as error:
        raise Failed(wrapper, f"returned a malformed result: {error}") from None


def _item(build: Callable[[Fields], T]) -> Callable[[object, str], T]:
    """A list item reader from an object builder."""
    return lambda raw, where: build(reader_for(where, raw))


# --- Accounts and simple acknowledgements ------------------------------------


class UserResult(TypedDict):
    """What most state-changing wrappers print: whose it was."""

    user: str


def user_result(fields: Fields) -> UserResult:
    return {"user": fields.account()}


class AccountCreated(TypedDict):
    user: str
    uid: int
    gid: int


def account_created(fields: Fields) -> AccountCreated:
    return {"user": fields.account(), "uid": fields.count("uid"), "gid": fields.count("gid")}


# --- Volumes and the pool ----------------------------------------------------


class VolumeRecord(TypedDict):
    user: str
    size_bytes: int
    device: str | None
    mount_point: str
    mounted: bool
    filesystem: str | None


def volume_record(fields: Fields) -> VolumeRecord:
    return {
        "user": fields.account(),
        "size_bytes": fields.count("size_bytes"),
        "device": fields.optional_text("device"),
        "mount_point": fields.text("mount_point"),
        "mounted": fields.flag("mounted"),
        "filesystem": fields.optional_choice("filesystem", FILESYSTEMS),
    }


class Inventory(TypedDict):
    backend: str
    volumes: list[VolumeRecord]


def inventory(fields: Fields) -> Inventory:
    return {
        "backend": fields.text("backend", 64),
        "volumes": fields.list_of("volumes", _item(volume_record)),
    }


class OneVolume(TypedDict):
    volume: VolumeRecord | None


def one_volume(fields: Fields) -> OneVolume:
    found = fields.optional_nested("volume")
    return {"volume": volume_record(found) if found is not None else None}


class Pool(TypedDict):
    backend: str
    name: str
    size_bytes: int
    allocated_bytes: int
    used_bytes: int
    free_bytes: int
    volume_count: int


def pool(fields: Fields) -> Pool:
    return {
        "backend": fields.text("backend", 64),
        "name": fields.text("name"),
        "size_bytes": fields.count("size_bytes"),
        "allocated_bytes": fields.count("allocated_bytes"),
        "used_bytes": fields.count("used_bytes"),
        "free_bytes": fields.count("free_bytes"),
        "volume_count": fields.count("volume_count"),
    }


class VolumeCreated(TypedDict):
    user: str
    size_bytes: int


def volume_created(fields: Fields) -> VolumeCreated:
    return {"user": fields.account(), "size_bytes": fields.count("size_bytes")}


class VolumeExtended(TypedDict):
    user: str
    old_size_bytes: int
    size_bytes: int
    filesystem: str | None
    grown: Literal["online", "offline"] | None


def volume_extended(fields: Fields) -> VolumeExtended:
    grown = fields.optional_choice("grown", GROWN)
    return {
        "user": fields.account(),
        "old_size_bytes": fields.count("old_size_bytes"),
        "size_bytes": fields.count("size_bytes"),
        "filesystem": fields.optional_choice("filesystem", FILESYSTEMS),
        "grown": cast(Literal["online", "offline"] | None, grown),
    }


class Formatted(TypedDict):
    user: str
    filesystem: str


def formatted(fields: Fields) -> Formatted:
    return {"user": fields.account(), "filesystem": fields.choice("filesystem", FILESYSTEMS)}


class MountPointMade(TypedDict):
    user: str
    path: str


def mount_point_made(fields: Fields) -> MountPointMade:
    return {"user": fields.account(), "path": fields.text("path")}


class Mounted(TypedDict):
    user: str
    mount_point: str
    device: str | None
    filesystem: str | None


def mounted(fields: Fields) -> Mounted:
    return {
        "user": fields.account(),
        "mount_point": fields.text("mount_point"),
        "device": fields.optional_text("device"),
        "filesystem": fields.optional_choice("filesystem", FILESYSTEMS),
    }


class Unmounted(TypedDict):
    user: str
    was_mounted: bool


def unmounted(fields: Fields) -> Unmounted:
    return {"user": fields.account(), "was_mounted": fields.flag("was_mounted")}


class Resumed(TypedDict):
    user: str
    mount_point: str


def resumed(fields: Fields) -> Resumed:
    return {"user": fields.account(), "mount_point": fields.text("mount_point")}


class BlockDevice(TypedDict):
    user: str
    device: str
    name: str
    major: int
    minor: int


def block_device(fields: Fields) -> BlockDevice:
    return {
        "user": fields.account(),
        "device": fields.text("device"),
        "name": fields.text("name"),
        "major": fields.count("major"),
        "minor": fields.count("minor"),
    }


class BlockDevices(TypedDict):
    devices: list[BlockDevice]


def block_devices(fields: Fields) -> BlockDevices:
    return {"devices": fields.list_of("devices", _item(block_device))}


class WrapperSettings(TypedDict):
    backend: str
    directories_root: str
    snapshots_root: str
    samba_config: str
    managed_group: str
    volume_group: str


def wrapper_settings(fields: Fields) -> WrapperSettings:
    return {
        "backend": fields.text("backend", 64),
        "directories_root": fields.text("directories_root"),
        "snapshots_root": fields.text("snapshots_root"),
        "samba_config": fields.text("samba_config"),
        "managed_group": fields.text("managed_group", 64),
        "volume_group": fields.text("volume_group", 128),
    }


# --- Maintenance ------------------------------------------------------------


class TimeMachineRemoved(TypedDict):
    user: str
    removed: list[str]
    more_removed: int


def time_machine_removed(fields: Fields) -> TimeMachineRemoved:
    return {
        "user": fields.account(),
        "removed": fields.names("removed", MAX_REPORTED),
        "more_removed": fields.count("more_removed"),
    }


class BackupRemoved(TypedDict):
    user: str
    format: str
    path: str
    removed_entries: int


def backup_removed(fields: Fields) -> BackupRemoved:
    return {
        "user": fields.account(),
        "format": fields.text("format", 40),
        "path": fields.name("path"),
        "removed_entries": fields.count("removed_entries"),
    }


class Defragmented(TypedDict):
    user: str
    summary: str


def defragmented(fields: Fields) -> Defragmented:
    return {"user": fields.account(), "summary": fields.text("summary")}


class Scrubbed(TypedDict):
    user: str
    errors: int
    summary: str


def scrubbed(fields: Fields) -> Scrubbed:
    return {
        "user": fields.account(),
        "errors": fields.count("errors"),
        "summary": fields.text("summary"),
    }


# --- Backup discovery (fetch_backups.py) -------------------------------------


class Source(TypedDict):
    machine: str | None
    format: str
    path: str
    last_backup: str | None
    backups: int | None
    state: str
    size_bytes: int | None
    size_estimated: bool | None
    evidence: str | None
    in_progress_since: str | None


def source(fields: Fields) -> Source:
    return {
        "machine": fields.optional_name("machine"),
        "format": fields.text("format", 40),
        "path": fields.name("path"),
        "last_backup": fields.optional_time("last_backup"),
        "backups": fields.optional_count("backups"),
        "state": fields.choice("state", STATES),
        "size_bytes": fields.optional_count("size_bytes"),
        "size_estimated": fields.optional_flag("size_estimated"),
        "evidence": fields.optional_choice("evidence", EVIDENCE),
        "in_progress_since": fields.optional_time("in_progress_since"),
    }


class Folder(TypedDict):
    path: str
    modified: str | None


def folder(fields: Fields) -> Folder:
    return {"path": fields.name("path"), "modified": fields.optional_time("modified")}


class BackupReport(TypedDict):
    user: str
    scanned_at: str
    truncated: bool
    sources: list[Source]
    more_sources: int
    unrecognised: list[Folder]
    more_unrecognised: int


def backup_report(fields: Fields) -> BackupReport:
    return {
        "user": fields.account(),
        "scanned_at": fields.time("scanned_at"),
        "truncated": fields.flag("truncated"),
        "sources": fields.list_of("sources", _item(source), MAX_REPORTED),
        "more_sources": fields.count("more_sources"),
        "unrecognised": fields.list_of("unrecognised", _item(folder), MAX_REPORTED),
        "more_unrecognised": fields.count("more_unrecognised"),
    }


@final  # so that `"skipped" in report` tells the two apart for mypy
class VolumeBackupReport(BackupReport):
    """One volume of the all-volumes scan: its report, and whether mounted."""

    mounted: bool


@final
class SkippedScan(TypedDict):
    """One volume of the all-volumes scan that was not scanned, and why."""

    user: str
    skipped: str


def scan_of_volume(fields: Fields) -> VolumeBackupReport | SkippedScan:
    if "skipped" in fields.raw:
        return {"user": fields.account(), "skipped": fields.text("skipped")}
    return {**backup_report(fields), "mounted": fields.flag("mounted")}


class AllBackupReports(TypedDict):
    volumes: list[VolumeBackupReport | SkippedScan]


def all_backup_reports(fields: Fields) -> AllBackupReports:
    return {"volumes": fields.list_of("volumes", _item(scan_of_volume))}


# --- Snapshots (btrfs volumes) ----------------------------------------------


class Change(TypedDict):
    base: str
    held_bytes: int | None
    complete: bool
    new_files: int
    new_bytes: int
    overwritten_files: int
    overwritten_bytes: int
    truncated_files: int
    truncated_bytes: int
    deleted_files: int
    deleted_bytes: int
    renamed_files: int
    renamed_to_one_extension: int
    note_folders: int


CHANGE_COUNTS = (
    "new_files",
    "new_bytes",
    "overwritten_files",
    "overwritten_bytes",
    "truncated_files",
    "truncated_bytes",
    "deleted_files",
    "deleted_bytes",
    "renamed_files",
    "renamed_to_one_extension",
    "note_folders",
)


def change(fields: Fields) -> Change:
    counts = {key: fields.count(key) for key in CHANGE_COUNTS}
    parsed = {
        "base": fields.snapshot("base"),
        "held_bytes": fields.optional_count("held_bytes"),
        "complete": fields.flag("complete"),
        **counts,
    }
    return cast(Change, parsed)


class VolumeSnapshotResult(TypedDict):
    supported: bool
    snapshot: str | None
    changed_bytes: int | None
    changed_files: int | None
    change: Change | None
    window_change: Change | None
    holds_bytes: int | None
    used_bytes: int
    size_bytes: int
    pruned: list[str]
    error: str | None


def _optional_change(fields: Fields, key: str) -> Change | None:
    found = fields.optional_nested(key)
    return change(found) if found is not None else None


def volume_snapshot_result(fields: Fields) -> VolumeSnapshotResult:
    return {
        "supported": fields.flag("supported"),
        "snapshot": fields.optional_snapshot("snapshot"),
        "changed_bytes": fields.optional_count("changed_bytes"),
        "changed_files": fields.optional_count("changed_files"),
        "change": _optional_change(fields, "change"),
        "window_change": _optional_change(fields, "window_change"),
        "holds_bytes": fields.optional_count("holds_bytes"),
        "used_bytes": fields.count("used_bytes"),
        "size_bytes": fields.count("size_bytes"),
        "pruned": fields.snapshots("pruned"),
        "error": fields.optional_text("error"),
    }


class SnapshotRunResult(TypedDict):
    taken_at: str
    volumes: dict[str, VolumeSnapshotResult]


def snapshot_run(fields: Fields) -> SnapshotRunResult:
    return {
        "taken_at": fields.time("taken_at"),
        "volumes": fields.by_account("volumes", _item(volume_snapshot_result)),
    }


class OneSnapshotResult(VolumeSnapshotResult):
    user: str


def one_snapshot(fields: Fields) -> OneSnapshotResult:
    return {"user": fields.account(), **volume_snapshot_result(fields)}


class ListedSnapshot(TypedDict):
    name: str
    taken_at: str
    protected_until: str
    protected: bool
    exclusive_bytes: int | None


def listed_snapshot(fields: Fields) -> ListedSnapshot:
    return {
        "name": fields.snapshot("name"),
        "taken_at": fields.time("taken_at"),
        "protected_until": fields.time("protected_until"),
        "protected": fields.flag("protected"),
        "exclusive_bytes": fields.optional_count("exclusive_bytes"),
    }


class SnapshotListing(TypedDict):
    supported: bool
    snapshots: list[ListedSnapshot]
    snapshot_bytes: int | None
    used_bytes: int
    size_bytes: int


def snapshot_listing(fields: Fields) -> SnapshotListing:
    return {
        "supported": fields.flag("supported"),
        "snapshots": fields.list_of("snapshots", _item(listed_snapshot)),
        "snapshot_bytes": fields.optional_count("snapshot_bytes"),
        "used_bytes": fields.count("used_bytes"),
        "size_bytes": fields.count("size_bytes"),
    }


class SnapshotListings(TypedDict):
    volumes: dict[str, SnapshotListing]


def snapshot_listings(fields: Fields) -> SnapshotListings:
    return {"volumes": fields.by_account("volumes", _item(snapshot_listing))}


class Pruned(TypedDict):
    user: str
    supported: bool
    pruned: list[str]
    kept: int


def pruned(fields: Fields) -> Pruned:
    return {
        "user": fields.account(),
        "supported": fields.flag("supported"),
        "pruned": fields.snapshots("pruned"),
        "kept": fields.count("kept"),
    }


class RolledBack(TypedDict):
    user: str
    snapshot: str
    kept_as: str


def rolled_back(fields: Fields) -> RolledBack:
    return {
        "user": fields.account(),
        "snapshot": fields.snapshot("snapshot"),
        "kept_as": fields.snapshot("kept_as"),
    }


class Entry(TypedDict):
    ref: str
    name: str
    type: str
    size_bytes: int
    modified: str | None


def entry(fields: Fields) -> Entry:
    return {
        "ref": fields.matching("ref", REF),
        "name": fields.name("name"),
        "type": fields.choice("type", ENTRY_TYPES),
        "size_bytes": fields.count("size_bytes"),
        "modified": fields.optional_time("modified"),
    }


class SnapshotFolder(TypedDict):
    user: str
    supported: bool
    snapshot: str
    path: str
    entries: list[Entry]
    total: int
    truncated: bool


def snapshot_folder(fields: Fields) -> SnapshotFolder:
    return {
        "user": fields.account(),
        "supported": fields.flag("supported"),
        "snapshot": fields.snapshot("snapshot"),
        "path": fields.text("path"),
        "entries": fields.list_of("entries", _item(entry)),
        "total": fields.count("total"),
        "truncated": fields.flag("truncated"),
    }


class Restored(TypedDict):
    user: str
    snapshot: str
    path: str
    restored_to: str
    files: int
    bytes: int


def restored(fields: Fields) -> Restored:
    return {
        "user": fields.account(),
        "snapshot": fields.snapshot("snapshot"),
        "path": fields.text("path"),
        "restored_to": fields.name("restored_to"),
        "files": fields.count("files"),
        "bytes": fields.count("bytes"),
    }
