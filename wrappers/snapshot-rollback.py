#!/usr/bin/python3 -IB
"""snapshot-rollback.py USER SNAPSHOT: give USER's whole volume back as it
was in SNAPSHOT. The current state is kept first, as a new (protected)
snapshot; then the data subvolume becomes a writable copy of SNAPSHOT.
Refused, with nothing changed, while the volume is in use (a backup
running) or when SNAPSHOT does not exist. No snapshot is deleted."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import (
    cli,
    commands,
    filesystems,
    layout,
    locks,
    mounts,
    paths,
    snapshot_ops,
    snapshots,
    storage,
    validate,
)
from wrapperlib.errors import Failure, Refusal


def _swap_data(top, source):
    """data := a writable snapshot of source; the replaced data subvolume
    is deleted only once the new one exists (it is kept as a snapshot)."""
    data = os.path.join(top, layout.DATA)
    replaced = os.path.join(top, "data.replaced")
    if os.path.lexists(replaced):
        # Left by an interrupted rollback: its state was kept as a snapshot.
        commands.run(["btrfs", "subvolume", "delete", replaced])
    os.rename(data, replaced)
    try:
        commands.run(["btrfs", "subvolume", "snapshot", source, data])
    except BaseException:
        os.rename(replaced, data)
        raise
    commands.run(["btrfs", "subvolume", "delete", replaced])


def rollback(user, name):
    top = snapshot_ops.require_top_level(user)
    snapshot_ops.path_of(top, name)
    moment = snapshots.now()
    kept_as = snapshots.name_for(moment)
    if kept_as in snapshot_ops.names(top):
        raise Refusal("a snapshot was taken this very second; try again in a moment")
    device = storage.backend().device(user)
    mount_point = paths.mount_point(user)
    if not mounts.umount(mount_point):
        raise Refusal(filesystems.BUSY)
    try:
        with snapshot_ops.writable(user) as top_rw:
            snapshot_ops.take(top_rw, moment)
            _swap_data(top_rw, snapshot_ops.path_of(top_rw, name))
    finally:
        layout.mount_data(device, mount_point)
    return kept_as


def main(args):
    user, name = validate.arguments(args, "USER", "SNAPSHOT")
    account = validate.managed_account(user)
    snapshots.snapshot_name(name)
    with locks.volume_lock(account.pw_name):
        try:
            kept_as = rollback(account.pw_name, name)
        except OSError as error:
            raise Failure(f"the rollback failed: {error.strerror}") from None
    return {"user": account.pw_name, "snapshot": name, "kept_as": kept_as}


if __name__ == "__main__":
    cli.run(main)
