#!/usr/bin/python3 -IB
"""snapshot-create.py [USER]: the scheduled snapshot run.

Without USER, one call for every mounted btrfs volume: take a read-only
snapshot of its data, measure what changed since the previous one (from the
filesystem's extent generations, no file name read), then prune per
retention and, when free space is low, the oldest unprotected snapshots.
One volume's error never stops the others. With USER, the same for one
volume."""

import contextlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import cli, locks, mounts, snapshot_ops, snapshots, storage, validate
from wrapperlib.errors import Failure, Refusal


def one_volume(user, moment, accounts, mount_table):
    try:
        name = validate.managed_account(user, accounts).pw_name
        with locks.volume_lock(name):
            return snapshot_ops.snapshot_volume(name, moment, mount_table)
    except (Refusal, Failure, OSError) as error:
        result = snapshot_ops.unsupported_result(user, str(error))
    # Nothing was taken, but a volume with the layout still has snapshots.
    with contextlib.suppress(Refusal, Failure, OSError):
        result["supported"] = snapshot_ops.top_level(user, mount_table) is not None
    return result


def main(args):
    moment = snapshots.now()
    if args:
        (user,) = validate.arguments(args, "USER")
        name = validate.managed_account(user).pw_name
        with locks.volume_lock(name):
            return {"user": name, **snapshot_ops.snapshot_volume(name, moment)}
    # The account database and the mount table are read once for the run,
    # not once per volume: both grow with the number of volumes.
    accounts = validate.Accounts()
    table = mounts.table()
    results = {
        volume["user"]: one_volume(volume["user"], moment, accounts, table)
        for volume in storage.inventory(table)["volumes"]
        if volume["filesystem"] == "btrfs"
    }
    return {"taken_at": snapshots.iso(moment), "volumes": results}


if __name__ == "__main__":
    cli.run(main)
