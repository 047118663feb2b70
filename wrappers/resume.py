#!/usr/bin/python3 -IB
"""resume.py USER: undo suspend.py: mount USER's volume again, enable the
Samba entry and unlock the Unix password."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import accounts, cli, locks, paths, storage, validate
from wrapperlib.storage import actions


def main(args):
    (user,) = validate.arguments(args, "USER")
    account = validate.managed_account(user)
    with locks.volume_lock(account.pw_name):
        store = storage.backend()
        volume = actions.require_volume(store, account.pw_name)
        if actions.mount_state(volume, paths.mount_point(account.pw_name)) is None:
            actions.mount_volume(store, account.pw_name)
        accounts.resume_logons(account)
    return {"user": account.pw_name, "mount_point": str(paths.mount_point(account.pw_name))}


if __name__ == "__main__":
    cli.run(main)
