#!/usr/bin/python3 -IB
"""snapshot-prune.py USER: apply the retention policy to USER's snapshots
now. Protected snapshots are never deleted."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import cli, locks, snapshot_ops, snapshots, validate


def main(args):
    (user,) = validate.arguments(args, "USER")
    name = validate.managed_account(user).pw_name
    with locks.volume_lock(name):
        top = snapshot_ops.top_level(name)
        if top is None:
            return {"user": name, "supported": False, "pruned": [], "kept": 0}
        with snapshot_ops.writable(name) as top_rw:
            pruned = snapshot_ops.prune(top_rw, snapshots.now())
        return {
            "user": name,
            "supported": True,
            "pruned": pruned,
            "kept": len(snapshot_ops.names(top)),
        }


if __name__ == "__main__":
    cli.run(main)
