"""One function per wrapper, with the arguments it takes (wrappers/README.md)."""

from typing import Any

from .client import Stream, run, stream

# Results are the wrappers' JSON as the client parsed it (wrappers/README.md
# documents each); typing each wrapper's result is the next step (issue 25).


def inventory() -> Any:
    """Every volume, in one privileged call."""
    return run("lvdisplay.py")["volumes"]


def volume(user: str) -> Any:
    """One volume, or None."""
    return run("lvdisplay.py", user)["volume"]


def pool() -> Any:
    return run("vgdisplay.py")


def create_account(user: str) -> Any:
    return run("useradd.py", user)


def delete_account(user: str) -> Any:
    return run("deluser.py", user)


def set_unix_password(user: str, password: str) -> Any:
    return run("chpasswd.py", user, stdin=password + "\n")


def set_samba_password(user: str, password: str) -> Any:
    return run("smbpasswd.py", user, stdin=password + "\n")


def create_volume(user: str, size_gib: int) -> Any:
    return run("lvcreate.py", user, size_gib)


def extend_volume(user: str, new_size_gib: int) -> Any:
    return run("lvextend.py", user, new_size_gib)


def remove_volume(user: str) -> Any:
    return run("lvremove.py", user)


def make_filesystem(user: str, filesystem: str) -> Any:
    if filesystem not in ("ext4", "btrfs", "xfs"):
        raise ValueError(f"unsupported filesystem {filesystem!r}")
    return run(f"mkfs-{filesystem}.py", user)


def make_mount_point(user: str) -> Any:
    return run("mkdir.py", user)


def remove_mount_point(user: str) -> Any:
    return run("rmdir.py", user)


def mount(user: str) -> Any:
    return run("mount.py", user)


def unmount(user: str) -> Any:
    return run("umount.py", user)


def give_to_user(user: str) -> None:
    """Ownership, mode and default ACL of the volume root."""
    run("chown.py", user)
    run("chmod.py", user)
    run("setfacl.py", user)


def remove_time_machine_backups(user: str) -> Any:
    return run("rm-timemachine.py", user)


def defragment(user: str) -> Any:
    return run("defragment-btrfs.py", user)


def scrub(user: str) -> Any:
    return run("scrub-btrfs.py", user)


def block_devices() -> Any:
    return run("dmsetup.py")["devices"]


def fetch_backups(user: str) -> Any:
    return run("fetch_backups.py", user)


def wrapper_settings() -> Any:
    """The wrappers' settings the portal must agree with (no secrets)."""
    return run("wrapper-settings.py")


def fetch_all_backups() -> Any:
    """Every volume's backups, in one privileged call."""
    return run("fetch_backups.py")["volumes"]


def remove_backup(user: str, backup_format: str, path: str) -> Any:
    """Delete the one backup source a scan finds with that format at that path."""
    return run("rm-backup.py", user, backup_format, path)


# --- Snapshots (btrfs volumes; the others answer "supported": false) --------


def take_all_snapshots() -> Any:
    """The scheduled run: every btrfs volume, one privileged call."""
    return run("snapshot-create.py")


def take_snapshot(user: str) -> Any:
    return run("snapshot-create.py", user)


def all_snapshots() -> Any:
    return run("snapshot-list.py")["volumes"]


def snapshots(user: str) -> Any:
    return run("snapshot-list.py", user)["volumes"].get(user)


def prune_snapshots(user: str) -> Any:
    return run("snapshot-prune.py", user)


def roll_back(user: str, snapshot: str) -> Any:
    return run("snapshot-rollback.py", user, snapshot)


def browse_snapshot(user: str, snapshot: str, path: str = ".") -> Any:
    """One folder of a snapshot; ``path`` is "." or refs joined with "/"."""
    return run("snapshot-browse.py", user, snapshot, path)


def read_snapshot_file(user: str, snapshot: str, path: str) -> Stream:
    """One file of a snapshot, streamed: .header {"name", "size_bytes"}, then its bytes."""
    return stream("snapshot-read.py", user, snapshot, path)


def restore_from_snapshot(user: str, snapshot: str, path: str, folder: str) -> Any:
    """Into a new top-level ``folder`` (named by the portal, validated by the wrapper)."""
    return run("snapshot-restore.py", user, snapshot, path, folder)


def suspend(user: str) -> Any:
    """Unmount, disable the Samba entry and lock the account (deferred deletion)."""
    return run("suspend.py", user)


def resume(user: str) -> Any:
    return run("resume.py", user)


def replica_status() -> Any:
    """The second server's last report as root stored it, or None."""
    return run("replica-status.py")["report"]
