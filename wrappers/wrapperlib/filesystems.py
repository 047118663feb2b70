"""Filesystems on backup volumes: ext4 (default), btrfs and xfs.

Detecting one (``blkid -p``, a low-level probe that trusts no cache),
making one, mount options, and growing one to fill its volume. btrfs and xfs
grow while mounted. ext4 does too when the kernel lets us: its online resize
needs CAP_SYS_RESOURCE, which sandboxes and some containers drop; then it
grows offline (unmounted), which the callers arrange.
"""

import os

from . import commands, mounts
from .errors import Failure, Refusal

SUPPORTED = ("ext4", "btrfs", "xfs")

# Nothing on a backup volume may be a device, run setuid or be executed;
# ACLs and extended attributes carry Windows and macOS metadata (xfs always
# has both and rejects the options).
MOUNT_OPTIONS = {
    "ext4": "nodev,nosuid,noexec,acl,user_xattr",
    "btrfs": "nodev,nosuid,noexec,acl",
    "xfs": "nodev,nosuid,noexec",
}

MKFS = {
    # No blocks reserved for root: nothing on a backup volume runs as root.
    # ea_inode: an extended attribute may outgrow its block (up to 64 KiB,
    # Samba's limit for a named stream); without it, a Mac's stream over
    # about 4 KiB fails with "disk full" and leaves an empty stream behind.
    "ext4": ["mkfs.ext4", "-q", "-m", "0", "-O", "ea_inode"],
    "btrfs": ["mkfs.btrfs", "-q"],
    "xfs": ["mkfs.xfs", "-q"],
}

BUSY = "the volume is in use; try again when your backup is not running"
CAP_SYS_RESOURCE = 24
BLKID_NOTHING_FOUND = 2
E2FSCK_UNCORRECTED = 4


def detect(path):
    """The type of signature found at path (filesystem or other), or None."""
    completed = commands.run(["blkid", "-p", "-o", "export", "--", os.fspath(path)], check=False)
    if completed.returncode == BLKID_NOTHING_FOUND:
        return None
    if completed.returncode != 0:
        raise Failure(f"blkid failed: {commands.last_line(completed.stderr)}")
    fields = dict(line.split("=", 1) for line in completed.stdout.splitlines() if "=" in line)
    return fields.get("TYPE") or fields.get("USAGE") or "unknown"


def require_supported(fstype):
    if fstype not in SUPPORTED:
        raise Refusal(f"the volume holds {fstype}, not one of {', '.join(SUPPORTED)}")
    return fstype


def make(device, fstype):
    commands.run([*MKFS[require_supported(fstype)], os.fspath(device)])


def mount(device, mount_point, fstype):
    mounts.mount(device, mount_point, fstype, MOUNT_OPTIONS[require_supported(fstype)])


def _has_capability(number):
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> number & 1)
    return False


def grows_online(fstype):
    """Whether a mounted fstype can grow without being unmounted here."""
    if fstype == "ext4":
        # EXT4_IOC_RESIZE_FS needs CAP_SYS_RESOURCE: without it the kernel
        # answers EPERM, so predict that rather than try and fail.
        return _has_capability(CAP_SYS_RESOURCE)
    return True


def grow_online(fstype, device, mount_point):
    """Grow a mounted filesystem to fill its (already larger) device."""
    if fstype == "ext4":
        commands.run(["resize2fs", os.fspath(device)])
    elif fstype == "btrfs":
        commands.run(["btrfs", "filesystem", "resize", "max", os.fspath(mount_point)])
    elif fstype == "xfs":
        commands.run(["xfs_growfs", "-d", os.fspath(mount_point)])
    else:
        require_supported(fstype)


def grow_offline_ext4(device):
    """Check, then grow, an unmounted ext4 filesystem."""
    # -p repairs only what is safe to repair unattended; resize2fs insists
    # on a freshly checked filesystem.
    checked = commands.run(["e2fsck", "-f", "-p", os.fspath(device)], check=False)
    if checked.returncode >= E2FSCK_UNCORRECTED:
        raise Failure(
            "the filesystem check found errors it could not repair: "
            + commands.last_line(checked.stdout + checked.stderr)
        )
    commands.run(["resize2fs", os.fspath(device)])


def usage(fd):
    """Space and inode figures of the filesystem holding the open fd.

    Used is everything the owner can no longer write: size less f_bavail.
    On btrfs, f_blocks - f_bfree leaves out the metadata reserve and the
    space chunk allocation can't reach, so a volume with nothing left to
    write measured 90 % and the 95 % alert could never fire; the same
    figure on ext4 (no root reserve: mkfs -m 0) and xfs is unchanged.
    Stored is f_blocks - f_bfree, what the files take: the snapshot run
    reports it as what the volume held (the mass-change share's base,
    which the unwritable rest would inflate on a nearly empty volume)."""
    fs = os.fstatvfs(fd)
    return {
        "size_bytes": fs.f_blocks * fs.f_frsize,
        "used_bytes": (fs.f_blocks - min(fs.f_bavail, fs.f_blocks)) * fs.f_frsize,
        "stored_bytes": (fs.f_blocks - fs.f_bfree) * fs.f_frsize,
        "free_bytes": fs.f_bavail * fs.f_frsize,
        "inodes_total": fs.f_files,
        "inodes_used": fs.f_files - fs.f_ffree,
        "inodes_free": fs.f_ffree,
    }
