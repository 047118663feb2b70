#!/usr/bin/python3 -IB
"""setfacl.py USER: access and default ACL on the root of USER's mounted
volume: USER rwx, the group and everyone else nothing. What backups write
below inherits it.

Only the root of the mounted volume, opened without following symlinks."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import acls, cli, locks, storage, validate
from wrapperlib.storage import actions


def main(args):
    (user,) = validate.arguments(args, "USER")
    account = validate.managed_account(user)
    with (
        locks.volume_lock(account.pw_name),
        actions.root_fd(storage.backend(), account.pw_name) as fd,
    ):
        acls.owner_only(fd, account.pw_uid)
    return {"user": account.pw_name}


if __name__ == "__main__":
    cli.run(main)
