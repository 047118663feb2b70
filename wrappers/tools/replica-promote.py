#!/usr/bin/python3 -IB
"""replica-promote.py [USER]: on the replica server, as root, once the
primary is lost: make a writable ``data`` beside USER's received snapshots
(every volume's without USER) from the newest one, so that the files can
be shared again. Never changes or deletes a received snapshot; refused for
a volume already promoted."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.realpath(__file__))))

from wrapperlib import cli, locks, replica_store, validate
from wrapperlib.errors import Failure, Refusal


def main(args):
    with locks.global_lock("replica-pull", "a replica pull is running; try again when it ends"):
        if args:
            (user,) = validate.arguments(args, "USER")
            return {"promoted": [replica_store.promote(validate.username(user))], "failed": {}}
        promoted, failed = [], {}
        for user in replica_store.volumes():
            try:
                promoted.append(replica_store.promote(user))
            except (Refusal, Failure, OSError) as error:
                failed[user] = str(error)
        return {"promoted": promoted, "failed": failed}


if __name__ == "__main__":
    cli.run(main)
