"""One function per wrapper, with the arguments it takes (wrappers/README.md)."""

from .client import run


def inventory():
    """Every volume, in one privileged call."""
    return run("lvdisplay.py")["volumes"]


def volume(user):
    """One volume, or None."""
    return run("lvdisplay.py", user)["volume"]


def pool():
    return run("vgdisplay.py")


def create_account(user):
    return run("useradd.py", user)


def delete_account(user):
    return run("deluser.py", user)


def set_unix_password(user, password):
    return run("chpasswd.py", user, stdin=password + "\n")


def set_samba_password(user, password):
    return run("smbpasswd.py", user, stdin=password + "\n")


def create_volume(user, size_gib):
    return run("lvcreate.py", user, size_gib)


def extend_volume(user, new_size_gib):
    return run("lvextend.py", user, new_size_gib)


def remove_volume(user):
    return run("lvremove.py", user)


def make_filesystem(user, filesystem):
    if filesystem not in ("ext4", "btrfs", "xfs"):
        raise ValueError(f"unsupported filesystem {filesystem!r}")
    return run(f"mkfs-{filesystem}.py", user)


def make_mount_point(user):
    return run("mkdir.py", user)


def remove_mount_point(user):
    return run("rmdir.py", user)


def mount(user):
    return run("mount.py", user)


def unmount(user):
    return run("umount.py", user)


def give_to_user(user):
    """Ownership, mode and default ACL of the volume root."""
    run("chown.py", user)
    run("chmod.py", user)
    run("setfacl.py", user)


def remove_time_machine_backups(user):
    return run("rm-timemachine.py", user)


def defragment(user):
    return run("defragment-btrfs.py", user)


def scrub(user):
    return run("scrub-btrfs.py", user)


def block_devices():
    return run("dmsetup.py")["devices"]


def fetch_backups(user):
    return run("fetch_backups.py", user)


def wrapper_settings():
    """The wrappers' settings the portal must agree with (no secrets)."""
    return run("wrapper-settings.py")


def fetch_all_backups():
    """Every volume's backups, in one privileged call."""
    return run("fetch_backups.py")["volumes"]


def remove_backup(user, backup_format, path):
    """Delete the one backup source a scan finds with that format at that path."""
    return run("rm-backup.py", user, backup_format, path)


# --- Snapshots (btrfs volumes; the others answer "supported": false) --------


def take_all_snapshots():
    """The scheduled run: every btrfs volume, one privileged call."""
    return run("snapshot-create.py")


def take_snapshot(user):
    return run("snapshot-create.py", user)


def all_snapshots():
    return run("snapshot-list.py")["volumes"]


def snapshots(user):
    return run("snapshot-list.py", user)["volumes"].get(user)


def prune_snapshots(user):
    return run("snapshot-prune.py", user)


def roll_back(user, snapshot):
    return run("snapshot-rollback.py", user, snapshot)


def browse_snapshot(user, snapshot, path="."):
    """One folder of a snapshot; ``path`` is "." or refs joined with "/"."""
    return run("snapshot-browse.py", user, snapshot, path)


def restore_from_snapshot(user, snapshot, path):
    return run("snapshot-restore.py", user, snapshot, path)


def suspend(user):
    """Unmount, disable the Samba entry and lock the account (deferred deletion)."""
    return run("suspend.py", user)


def resume(user):
    return run("resume.py", user)
