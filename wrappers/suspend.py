#!/usr/bin/python3 -IB
"""suspend.py USER: the first step of a deferred deletion. Unmount USER's
volume (refused while busy, nothing changed), record it as suspended (a
root-only record: never mounted at boot nor snapshotted again), disable the
Samba entry and lock the Unix password. The volume and its snapshots stay;
resume.py undoes it.

Stopped at any point, it leaves either a volume that is not suspended yet
(unmounted at most: the next run or boot mounts it again) or one that is
recorded suspended; running it again finishes it."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import (
    accounts,
    cli,
    crashsafe,
    locks,
    records,
    recovery,
    snapshots,
    storage,
    validate,
)
from wrapperlib.storage import actions


def main(args):
    (user,) = validate.arguments(args, "USER")
    account = validate.managed_account(user)
    with locks.volume_lock(account.pw_name):
        store = storage.backend()
        actions.require_volume(store, account.pw_name)
        already = records.suspended(account.pw_name)
        # Stopped before the record is written, the next run mounts the
        # volume again (not suspended after all); after, it stays down.
        with crashsafe.deferred(), recovery.intent(account.pw_name, recovery.MOUNTED):
            actions.unmount_volume(store, account.pw_name)
            if not already:
                records.write(
                    records.SUSPENDED, account.pw_name, f"{snapshots.iso(snapshots.now())}\n"
                )
            accounts.suspend_logons(account)
    return {"user": account.pw_name}


if __name__ == "__main__":
    cli.run(main)
