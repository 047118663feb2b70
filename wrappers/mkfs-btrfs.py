#!/usr/bin/python3 -IB
"""mkfs-btrfs.py USER: format USER's volume with btrfs.

Refused when the volume already holds a filesystem (or any other signature):
data is never formatted over."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import cli, locks, storage, validate
from wrapperlib.storage import actions


def main(args):
    (user,) = validate.arguments(args, "USER")
    name = validate.managed_account(user).pw_name
    with locks.volume_lock(name):
        fstype = actions.format_volume(storage.backend(), name, "btrfs")
    return {"user": name, "filesystem": fstype}


if __name__ == "__main__":
    cli.run(main)
