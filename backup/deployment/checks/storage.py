"""The storage: the pool has room, the volumes' root takes ACLs."""

import errno
import json
import os
import secrets
import subprocess
from pathlib import Path

import posix1e
from django.conf import settings

from backup.privileged.client import last_line

from .base import GIB, _run_wrapper, fail, ok
from .files import _missing_directory


def volume_group(context):
    """The pool (LVM volume group, or loop-file pool) exists and has room for
    at least one volume of the default size."""
    name = "volume group"
    try:
        completed = _run_wrapper(context, "vgdisplay.py")
    except subprocess.TimeoutExpired:
        return fail(name, "vgdisplay.py did not answer: check the storage (lvs, vgs)")
    if completed.returncode != 0:
        return fail(
            name,
            f"{last_line(completed.stderr)}: create the volume group "
            "(pvcreate /dev/sdX && vgcreate backupdisks /dev/sdX) or set BACKEND, "
            f"VOLUME_GROUP or LOOPFILE_POOL in {context.wrappers_path}/local_settings.py",
        )
    try:
        pool = json.loads(completed.stdout)
        free_gib = pool["free_bytes"] / GIB
        size_gib = pool["size_bytes"] / GIB
    except (ValueError, KeyError, TypeError):
        return fail(name, "vgdisplay.py printed something unexpected: reinstall the wrappers")
    what = f"{pool.get('backend')} pool {pool.get('name')}"
    if free_gib < settings.DEFAULT_DISK_SIZE:
        return fail(
            name,
            f"{what} has {free_gib:.0f} GiB free, less than one default volume "
            f"({settings.DEFAULT_DISK_SIZE} GiB): {_more_space(pool.get('backend'))} or lower "
            "default_disk_size in the config file",
        )
    return ok(name, f"{what}: {size_gib:.0f} GiB, {free_gib:.0f} GiB free")


def _more_space(backend: object) -> str:
    """How an admin gives this kind of pool more room."""
    if backend == "loopfile":
        # A loop-file pool is a directory: its filesystem's free space is the pool's.
        return (
            "free space on the filesystem holding the pool directory (or move it to a larger one)"
        )
    return "add a disk to the volume group (pvcreate, then vgextend)"


def directories_root_acls(context):
    name = "DIRECTORIES_ROOT"
    root = Path(settings.DIRECTORIES_ROOT)
    problem = _missing_directory(root, context)
    if problem:
        return fail(name, problem)
    try:
        # Reading an ACL succeeds even without ACL support (libacl falls back
        # to the mode); the raw attribute tells the two apart.
        try:
            os.getxattr(root, "system.posix_acl_access")
        except OSError as error:
            if error.errno != errno.ENODATA:
                raise
        if os.access(root, os.W_OK):
            _acl_round_trip(root)
    except OSError as error:
        return fail(
            name,
            f"ACLs don't work on {root} ({error.strerror}): put it on a filesystem with "
            "ACLs (ext4, btrfs and xfs have them on by default)",
        )
    return ok(name, f"{root} exists, ACLs work")


def _acl_round_trip(root):
    """Set and read back a named-user ACL entry on a scratch file."""
    probe = root / f".acl-probe-{secrets.token_hex(4)}"
    probe.touch(mode=0o600)
    try:
        acl = posix1e.ACL(text=f"u::rw-,u:{os.geteuid()}:r--,g::---,m::r--,o::---")
        acl.applyto(str(probe))
        if not posix1e.has_extended(str(probe)):
            raise OSError(0, "an ACL set on a file was not read back")
    finally:
        probe.unlink()
