#!/usr/bin/python3 -IB
"""lvcreate.py USER SIZE_GIB: create USER's volume of SIZE_GIB GiB.

Refused before anything changes when the user already has one, when the pool
lacks the space, or when SIZE_GIB is over MAX_VOLUME_GIB."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import cli, locks, records, storage, validate
from wrapperlib.errors import Refusal
from wrapperlib.storage import GIB, actions


def main(args):
    user, size = validate.arguments(args, "USER", "SIZE_GIB")
    name = validate.managed_account(user).pw_name
    gib = validate.size_gib(size)
    with locks.volume_lock(name), locks.pool_lock():
        store = storage.backend()
        if store.get(name) is not None:
            raise Refusal(f"{name} already has a volume")
        actions.require_space(store.pool(), gib * GIB)
        # A record left by an lvremove.py stopped after the removal belongs
        # to the volume that is gone, never to this new one.
        records.remove(records.SUSPENDED, name)
        store.create(name, gib)
    return {"user": name, "size_bytes": gib * GIB}


if __name__ == "__main__":
    cli.run(main)
