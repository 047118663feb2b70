#!/usr/bin/python3 -IB
"""chown.py USER: make USER:MANAGED_GROUP the owner of USER's mounted volume's root.

Only the root of the mounted volume, opened without following symlinks."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import cli, locks, storage, validate
from wrapperlib.storage import actions


def main(args):
    (user,) = validate.arguments(args, "USER")
    account = validate.managed_account(user)
    gid = validate.managed_group().gr_gid
    with (
        locks.volume_lock(account.pw_name),
        actions.root_fd(storage.backend(), account.pw_name) as fd,
    ):
        os.fchown(fd, account.pw_uid, gid)
    return {"user": account.pw_name}


if __name__ == "__main__":
    cli.run(main)
