#!/usr/bin/python3 -IB
"""resize2fs.py USER: grow the filesystem on USER's volume to fill the volume.

Online where the kernel allows; ext4 otherwise grows offline, refused while
anything holds the volume open."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import cli, locks, storage, validate
from wrapperlib.errors import Refusal
from wrapperlib.storage import actions


def main(args):
    (user,) = validate.arguments(args, "USER")
    name = validate.managed_account(user).pw_name
    with locks.volume_lock(name):
        store = storage.backend()
        plan = actions.plan_grow(store, actions.require_volume(store, name))
        if plan.fstype is None:
            raise Refusal(f"{name}'s volume has no filesystem to grow")
        with actions.growing(plan):
            actions.release_for_offline(store, plan)
            grown = actions.grow(store, plan)
    return {"user": name, "filesystem": plan.fstype, "grown": grown}


if __name__ == "__main__":
    cli.run(main)
