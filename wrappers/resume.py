#!/usr/bin/python3 -IB
"""resume.py USER: undo suspend.py: mount USER's volume again, enable the
Samba entry, unlock the Unix password, and, last, remove the record that
says it is suspended (stopped before that, the volume is still suspended:
the next run takes it down again, and running resume.py again finishes)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import accounts, cli, crashsafe, locks, paths, records, recovery, storage, validate
from wrapperlib.storage import actions


def main(args):
    (user,) = validate.arguments(args, "USER")
    account = validate.managed_account(user)
    with locks.volume_lock(account.pw_name):
        store = storage.backend()
        volume = actions.require_volume(store, account.pw_name)
        # Stopped half-way, the record still there: the next run takes the
        # volume down again (recovery: a suspended volume ends unmounted).
        with crashsafe.deferred(), recovery.intent(account.pw_name, recovery.MOUNTED):
            if actions.mount_state(volume, paths.mount_point(account.pw_name)) is None:
                actions.mount_volume(store, account.pw_name, resuming=True)
            accounts.resume_logons(account)
            records.remove(records.SUSPENDED, account.pw_name)
    return {"user": account.pw_name, "mount_point": str(paths.mount_point(account.pw_name))}


if __name__ == "__main__":
    cli.run(main)
