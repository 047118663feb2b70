"""One function per wrapper, with the arguments it takes (wrappers/README.md),
returning the wrapper's result parsed into its typed shape (results.py):
callers read checked fields and never re-check them."""

from typing import Any

from . import results
from .client import Failed, Stream, run, stream
from .results import parse


def inventory() -> list[results.VolumeRecord]:
    """Every volume, in one privileged call."""
    return parse("lvdisplay.py", run("lvdisplay.py"), results.inventory)["volumes"]


def volume(user: str) -> results.VolumeRecord | None:
    """One volume, or None."""
    return parse("lvdisplay.py", run("lvdisplay.py", user), results.one_volume)["volume"]


def pool() -> results.Pool:
    return parse("vgdisplay.py", run("vgdisplay.py"), results.pool)


def create_account(user: str) -> results.AccountCreated:
    return parse("useradd.py", run("useradd.py", user), results.account_created)


def delete_account(user: str) -> results.UserResult:
    return parse("deluser.py", run("deluser.py", user), results.user_result)


def set_unix_password(user: str, password: str) -> results.UserResult:
    return parse(
        "chpasswd.py", run("chpasswd.py", user, stdin=password + "\n"), results.user_result
    )


def set_samba_password(user: str, password: str) -> results.UserResult:
    return parse(
        "smbpasswd.py", run("smbpasswd.py", user, stdin=password + "\n"), results.user_result
    )


def create_volume(user: str, size_gib: int) -> results.VolumeCreated:
    return parse("lvcreate.py", run("lvcreate.py", user, size_gib), results.volume_created)


def extend_volume(user: str, new_size_gib: int) -> results.VolumeExtended:
    return parse("lvextend.py", run("lvextend.py", user, new_size_gib), results.volume_extended)


def remove_volume(user: str) -> results.UserResult:
    return parse("lvremove.py", run("lvremove.py", user), results.user_result)


def make_filesystem(user: str, filesystem: str) -> results.Formatted:
    if filesystem not in ("ext4", "btrfs", "xfs"):
        raise ValueError(f"unsupported filesystem {filesystem!r}")
    name = f"mkfs-{filesystem}.py"
    return parse(name, run(name, user), results.formatted)


def make_mount_point(user: str) -> results.MountPointMade:
    return parse("mkdir.py", run("mkdir.py", user), results.mount_point_made)


def remove_mount_point(user: str) -> results.UserResult:
    return parse("rmdir.py", run("rmdir.py", user), results.user_result)


def mount(user: str) -> results.Mounted:
    return parse("mount.py", run("mount.py", user), results.mounted)


def unmount(user: str) -> results.Unmounted:
    return parse("umount.py", run("umount.py", user), results.unmounted)


def give_to_user(user: str) -> None:
    """Ownership, mode and default ACL of the volume root."""
    for name in ("chown.py", "chmod.py", "setfacl.py"):
        parse(name, run(name, user), results.user_result)


def remove_time_machine_backups(user: str) -> results.TimeMachineRemoved:
    return parse("rm-timemachine.py", run("rm-timemachine.py", user), results.time_machine_removed)


def defragment(user: str) -> results.Defragmented:
    return parse("defragment-btrfs.py", run("defragment-btrfs.py", user), results.defragmented)


def scrub(user: str) -> results.Scrubbed:
    return parse("scrub-btrfs.py", run("scrub-btrfs.py", user), results.scrubbed)


def block_devices() -> list[results.BlockDevice]:
    return parse("dmsetup.py", run("dmsetup.py"), results.block_devices)["devices"]


def fetch_backups(user: str) -> results.BackupReport:
    return parse("fetch_backups.py", run("fetch_backups.py", user), results.backup_report)


def wrapper_settings() -> results.WrapperSettings:
    """The wrappers' settings the portal must agree with (no secrets)."""
    return parse("wrapper-settings.py", run("wrapper-settings.py"), results.wrapper_settings)


def fetch_all_backups() -> list[results.VolumeBackupReport | results.SkippedScan]:
    """Every volume's backups, in one privileged call."""
    raw = run("fetch_backups.py")
    return parse("fetch_backups.py", raw, results.all_backup_reports)["volumes"]


def remove_backup(user: str, backup_format: str, path: str) -> results.BackupRemoved:
    """Delete the one backup source a scan finds with that format at that path."""
    raw = run("rm-backup.py", user, backup_format, path)
    return parse("rm-backup.py", raw, results.backup_removed)


# --- Snapshots (btrfs volumes; the others answer "supported": false) --------


def take_all_snapshots() -> results.SnapshotRunResult:
    """The scheduled run: every btrfs volume, one privileged call."""
    return parse("snapshot-create.py", run("snapshot-create.py"), results.snapshot_run)


def take_snapshot(user: str) -> results.OneSnapshotResult:
    return parse("snapshot-create.py", run("snapshot-create.py", user), results.one_snapshot)


def all_snapshots() -> dict[str, results.SnapshotListing]:
    raw = run("snapshot-list.py")
    return parse("snapshot-list.py", raw, results.snapshot_listings)["volumes"]


def snapshots(user: str) -> results.SnapshotListing | None:
    raw = run("snapshot-list.py", user)
    return parse("snapshot-list.py", raw, results.snapshot_listings)["volumes"].get(user)


def prune_snapshots(user: str) -> results.Pruned:
    return parse("snapshot-prune.py", run("snapshot-prune.py", user), results.pruned)


def roll_back(user: str, snapshot: str) -> results.RolledBack:
    raw = run("snapshot-rollback.py", user, snapshot)
    return parse("snapshot-rollback.py", raw, results.rolled_back)


def browse_snapshot(user: str, snapshot: str, path: str = ".") -> results.SnapshotFolder:
    """One folder of a snapshot; ``path`` is "." or refs joined with "/"."""
    raw = run("snapshot-browse.py", user, snapshot, path)
    return parse("snapshot-browse.py", raw, results.snapshot_folder)


def read_snapshot_file(user: str, snapshot: str, path: str) -> Stream:
    """One file of a snapshot, streamed: .header {"name", "size_bytes"}, then its bytes."""
    return stream("snapshot-read.py", user, snapshot, path)


def restore_from_snapshot(user: str, snapshot: str, path: str, folder: str) -> results.Restored:
    """Into a new top-level ``folder`` (named by the portal, validated by the wrapper)."""
    raw = run("snapshot-restore.py", user, snapshot, path, folder)
    return parse("snapshot-restore.py", raw, results.restored)


def suspend(user: str) -> results.UserResult:
    """Unmount, disable the Samba entry and lock the account (deferred deletion)."""
    return parse("suspend.py", run("suspend.py", user), results.user_result)


def resume(user: str) -> results.Resumed:
    return parse("resume.py", run("resume.py", user), results.resumed)


def replica_status() -> Any:
    """The second server's last report as root stored it, or None (parsed
    as hostile by backup.replica.services, which owns its shape)."""
    raw = run("replica-status.py")
    if not isinstance(raw, dict) or "report" not in raw:
        raise Failed("replica-status.py", "returned a malformed result: no report")
    return raw["report"]
