#!/usr/bin/python3 -IB
"""umount.py USER: unmount USER's volume and release its device.

Refused while anything holds it open (a backup running): nothing changes."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import cli, locks, storage, validate
from wrapperlib.storage import actions


def main(args):
    (user,) = validate.arguments(args, "USER")
    name = validate.managed_account(user).pw_name
    with locks.volume_lock(name):
        was_mounted = actions.unmount_volume(storage.backend(), name)
    return {"user": name, "was_mounted": was_mounted}


if __name__ == "__main__":
    cli.run(main)
