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
    crashsafe,
    filesystems,
    layout,
    locks,
    mounts,
    paths,
    recovery,
    snapshot_ops,
    snapshots,
    storage,
    syslogging,
    validate,
)
from wrapperlib.config import settings
from wrapperlib.errors import Failure, Refusal


def _replace_data(top, source):
    """data := a writable snapshot of source, in an order where every
    instant leaves a valid volume: the copy is made beside data, the two
    names are exchanged at once (data never missing), and the replaced data
    (kept as a snapshot before) is deleted last, with any subvolume the
    user made inside it. Stopped before the exchange, nothing was rolled
    back; after it, the rollback is done; either way what is left beside
    data is deleted by the next change (layout.complete)."""
    copy = os.path.join(top, layout.ROLLBACK)
    commands.run(["btrfs", "subvolume", "snapshot", source, copy])
    layout.exchange(top, layout.DATA, layout.ROLLBACK)


def rollback(user, name):
    top = snapshot_ops.require_top_level(user)
    snapshot_ops.path_of(top, name)
    moment = snapshots.now()
    kept_as = snapshots.name_for(moment)
    if kept_as in snapshot_ops.names(top):
        raise Refusal("a snapshot was taken this very second; try again in a moment")
    device = storage.backend().device(user)
    mount_point = paths.mount_point(user)
    # A relayed SIGTERM waits until the end; after SIGKILL or a crash the
    # next run mounts the data again (the intent) and clears what was left.
    with (
        crashsafe.deferred(),
        recovery.intent(user, recovery.MOUNTED),
        snapshot_ops.writable(user) as top_rw,
    ):
        if not mounts.umount(mount_point):
            raise Refusal(filesystems.BUSY)
        try:
            snapshot_ops.take(top_rw, moment)
            _replace_data(top_rw, snapshot_ops.path_of(top_rw, name))
        finally:
            layout.mount_data(device, mount_point)
        try:
            layout.delete_subvolume_tree(top_rw, layout.ROLLBACK)
        except Failure as error:
            # Rolled back all the same; the next change deletes it.
            syslogging.log(
                "snapshot-rollback.py",
                settings().SYSLOG_ADDRESS,
                f"the replaced data of {user} was left to delete later: {error}",
                error=True,
            )
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
