"""What a volume looks like right now: one privileged query (cached), and
usage read without privileges (statvfs on the mount point)."""

import json
import os
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from backup.privileged import commands
from backup.privileged.client import PrivilegedError
from backup.privileged.results import VolumeRecord

GIB = 1024**3


@dataclass(frozen=True)
class Usage:
    total_bytes: int
    used_bytes: int
    free_bytes: int
    inodes_total: int
    inodes_used: int
    inodes_free: int
    # What the files take (f_blocks - f_bfree); the rest of used is space
    # the filesystem keeps for itself (btrfs metadata). None: not read.
    stored_bytes: int | None = None

    @property
    def percent(self):
        return round(100 * self.used_bytes / self.total_bytes) if self.total_bytes else 0

    @property
    def inodes_percent(self):
        return round(100 * self.inodes_used / self.inodes_total) if self.inodes_total else 0


@dataclass(frozen=True)
class VolumeState:
    size_bytes: int
    mounted: bool
    mount_point: str
    filesystem: str | None
    usage: Usage | None

    @property
    def size_gib(self):
        return self.size_bytes // GIB


def usage_of(mount_point):
    """Usage of a mounted filesystem, or None if it can't be read."""
    try:
        info = os.statvfs(mount_point)
    except OSError:
        return None
    # Used: what the owner can no longer write (as the wrappers' df.py
    # reports it). On btrfs f_blocks - f_bfree leaves out the metadata
    # reserve, and a volume with nothing left to write showed 90 %.
    return Usage(
        total_bytes=info.f_blocks * info.f_frsize,
        used_bytes=(info.f_blocks - min(info.f_bavail, info.f_blocks)) * info.f_frsize,
        free_bytes=info.f_bavail * info.f_frsize,
        inodes_total=info.f_files,
        inodes_used=info.f_files - info.f_ffree,
        inodes_free=info.f_ffree,
        stored_bytes=(info.f_blocks - info.f_bfree) * info.f_frsize,
    )


@dataclass(frozen=True)
class UsageSplit:
    """Used space, split: what only the snapshots hold (freed when they go),
    the live data (with everything it shares with them), and what the
    filesystem keeps for itself (btrfs metadata and its reserve)."""

    live_bytes: int
    snapshot_bytes: int
    reserved_bytes: int = 0


def split(usage: Usage | None, snapshot_bytes: int | None) -> UsageSplit | None:
    """None when either figure is unknown (not mounted, not measured yet)."""
    if usage is None or snapshot_bytes is None:
        return None
    stored = usage.used_bytes if usage.stored_bytes is None else usage.stored_bytes
    stored = min(stored, usage.used_bytes)
    # The snapshots' figure is from the last scheduled run, the used one from
    # now: a deletion in between can make it the larger one for a while.
    held = min(snapshot_bytes, stored)
    return UsageSplit(
        live_bytes=stored - held, snapshot_bytes=held, reserved_bytes=usage.used_bytes - stored
    )


def state_from(record: VolumeRecord) -> VolumeState:
    """A VolumeState from a wrapper's volume record (lvdisplay.py, parsed)."""
    mounted = record["mounted"]
    return VolumeState(
        size_bytes=record["size_bytes"],
        mounted=mounted,
        mount_point=record["mount_point"],
        filesystem=record["filesystem"],
        usage=usage_of(record["mount_point"]) if mounted else None,
    )


class StatusUnavailable(Exception):
    pass


def volume_state(account, version):
    """The volume's state; the privileged query is reused for a short while.

    ``version`` changes whenever an operation on the volume finishes, so a
    cached answer never outlives a change the portal made.
    """
    key = f"volume-record:{account}:{version}"
    stored = cache.get(key)
    if isinstance(stored, str):
        record = json.loads(stored)
    else:
        try:
            record = commands.volume(account) or {}
        except PrivilegedError as error:
            raise StatusUnavailable(str(error)) from error
        # JSON text: the cache is shared with the daemon's other processes
        # through files, and holds no objects (DESIGN: no pickle).
        cache.set(key, json.dumps(record), settings.VOLUME_CACHE_SECONDS)
    return state_from(record) if record else None
