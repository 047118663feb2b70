#!/usr/bin/python3 -IB
"""useradd.py USER: create the backup account USER (managed group, uid in
ACCOUNT_UID_MIN..ACCOUNT_UID_MAX, no login shell, no home created)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import accounts, cli, locks, validate


def main(args):
    (user,) = validate.arguments(args, "USER")
    name = validate.username(user)
    accounts.check_new(name)
    with locks.volume_lock(name):
        entry = accounts.create(name)
    return {"user": entry.pw_name, "uid": entry.pw_uid, "gid": entry.pw_gid}


if __name__ == "__main__":
    cli.run(main)
