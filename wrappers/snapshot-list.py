#!/usr/bin/python3 -IB
"""snapshot-list.py [USER]: the snapshots of every volume (one call), or of
USER's; oldest first, each with when it was taken and until when it is
protected. Volumes without snapshots (ext4, xfs), and volumes not mounted
(suspended), say "supported": false."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import cli, mounts, snapshot_ops, storage, validate
from wrapperlib.errors import Failure, Refusal


def main(args):
    if args:
        (user,) = validate.arguments(args, "USER")
        name = validate.managed_account(user).pw_name
        if storage.backend().get(name) is None:
            return {"volumes": {}}
        return {"volumes": {name: snapshot_ops.listing(name)}}
    volumes = {}
    # One mount table for the whole listing, not one read per volume.
    table = mounts.table()
    for volume in storage.inventory(table)["volumes"]:
        try:
            name = validate.username(volume["user"])
            volumes[volume["user"]] = snapshot_ops.listing(name, table)
        except (Refusal, Failure, OSError):
            # One odd volume (a protected name in the pool) never hides the others.
            volumes[volume["user"]] = {
                "supported": False,
                "snapshots": [],
                "snapshot_bytes": None,
                "used_bytes": 0,
                "size_bytes": 0,
            }
    return {"volumes": volumes}


if __name__ == "__main__":
    cli.run(main)
