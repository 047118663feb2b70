#!/usr/bin/python3 -IB
"""suspend.py USER: the first step of a deferred deletion. Unmount USER's
volume (refused while busy, nothing changed), disable the Samba entry and
lock the Unix password. The volume and its snapshots stay; resume.py undoes
it."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import accounts, cli, locks, storage, validate
from wrapperlib.storage import actions


def main(args):
    (user,) = validate.arguments(args, "USER")
    account = validate.managed_account(user)
    with locks.volume_lock(account.pw_name):
        store = storage.backend()
        actions.require_volume(store, account.pw_name)
        actions.unmount_volume(store, account.pw_name)
        accounts.suspend_logons(account)
    return {"user": account.pw_name}


if __name__ == "__main__":
    cli.run(main)
