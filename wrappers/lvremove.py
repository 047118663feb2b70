#!/usr/bin/python3 -IB
"""lvremove.py USER: remove USER's volume and everything on it.

Refused while it is mounted (unmount it first, umount.py), and while any of
its snapshots is still protected, saying until when."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import (
    cli,
    crashsafe,
    locks,
    paths,
    records,
    snapshot_ops,
    snapshots,
    storage,
    validate,
)
from wrapperlib.errors import Refusal
from wrapperlib.storage import actions, in_use


def main(args):
    (user,) = validate.arguments(args, "USER")
    name = validate.managed_account(user).pw_name
    with locks.volume_lock(name):
        store = storage.backend()
        volume = actions.require_volume(store, name)
        if actions.mount_state(volume, paths.mount_point(name)) is not None:
            raise Refusal(f"{name}'s volume is mounted; unmount it first")
        if volume.device is not None and in_use(volume.device):
            raise Refusal(f"{name}'s volume is in use")
        until = snapshot_ops.protection_end_unmounted(store, name, snapshots.now())
        if until is not None:
            raise Refusal(
                f"{name}'s volume holds snapshots protected until {snapshots.iso(until)};"
                " it can be removed after that"
            )
        with crashsafe.deferred():
            store.remove(name)
            # The record belongs to the volume just removed, not to a next one.
            records.remove(records.SUSPENDED, name)
    return {"user": name}


if __name__ == "__main__":
    cli.run(main)
