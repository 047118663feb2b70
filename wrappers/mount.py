#!/usr/bin/python3 -IB
"""mount.py [USER]: mount USER's volume at <DIRECTORIES_ROOT>/USER (nodev,
nosuid, noexec; ACLs and extended attributes on). Without USER, mount every
volume not mounted yet (at boot) and report each one that could not be.

Suspended volumes (suspend.py's record) are never mounted, with or without
USER: resume.py brings them back. Each volume's lock puts in order first
what a wrapper stopped half-way left (recovery.py), and a btrfs volume's
layout is completed or refused before anything is shared (layout.mount):
only its data subvolume is ever mounted at the share path."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import cli, locks, paths, records, storage, validate
from wrapperlib.errors import Failure, Refusal
from wrapperlib.storage import actions


def mount_all():
    store = storage.backend()
    inventory = storage.inventory()["volumes"]
    # Read once for the boot run; every volume is validated against it with
    # the one-user path's rules (validate.managed_account).
    accounts = validate.Accounts()
    mounted, failed, suspended = [], {}, []
    for volume in inventory:
        if volume["mounted"]:
            continue
        try:
            account = validate.managed_account(volume["user"], accounts)
            name = account.pw_name
            with locks.volume_lock(name):
                if records.suspended(name):
                    suspended.append(name)
                    continue
                found = actions.require_volume(store, name)
                if actions.mount_state(found, paths.mount_point(name)) is not None:
                    continue  # mounted again by the recovery of a stopped run
                actions.mount_volume(store, name, uid=account.pw_uid)
            mounted.append(name)
        except (Refusal, Failure, OSError) as error:
            # One volume that can't be mounted must not keep the others down.
            failed[volume["user"]] = str(error)
    return {"mounted": mounted, "failed": failed, "suspended": suspended}


def main(args):
    if not args:
        return mount_all()
    (user,) = validate.arguments(args, "USER")
    name = validate.managed_account(user).pw_name
    with locks.volume_lock(name):
        return actions.mount_volume(storage.backend(), name)


if __name__ == "__main__":
    cli.run(main)
