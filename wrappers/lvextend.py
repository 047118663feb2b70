#!/usr/bin/python3 -IB
"""lvextend.py USER NEW_SIZE_GIB: grow USER's volume to NEW_SIZE_GIB GiB in
total, then its filesystem.

Refused before anything changes when the new size is not larger, the pool
lacks the space, MAX_VOLUME_GIB would be passed, or the filesystem must grow
offline (ext4 where the kernel refuses to resize it mounted) while something
holds the volume open."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import cli, locks, storage, validate
from wrapperlib.errors import Refusal
from wrapperlib.storage import GIB, actions


def main(args):
    user, size = validate.arguments(args, "USER", "NEW_SIZE_GIB")
    name = validate.managed_account(user).pw_name
    gib = validate.size_gib(size)
    with locks.volume_lock(name):
        store = storage.backend()
        volume = actions.require_volume(store, name)
        if gib * GIB <= volume.size_bytes:
            raise Refusal(
                f"{name}'s volume is already {volume.size_bytes / GIB:g} GiB;"
                " give a larger total size (volumes never shrink)"
            )
        plan = actions.plan_grow(store, volume)
        with actions.growing(plan):
            with locks.pool_lock():
                actions.require_space(store.pool(), gib * GIB - volume.size_bytes)
                actions.release_for_offline(store, plan)
                try:
                    store.extend(name, gib)
                except BaseException:
                    actions.restore_mount(store, plan)
                    raise
            grown = actions.grow(store, plan)
    return {
        "user": name,
        "old_size_bytes": volume.size_bytes,
        "size_bytes": gib * GIB,
        "filesystem": plan.fstype,
        "grown": grown,
    }


if __name__ == "__main__":
    cli.run(main)
