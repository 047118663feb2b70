#!/usr/bin/python3 -IB
"""lvdisplay.py [USER]: every volume in one call (no argument), or USER's.

The inventory costs one backend listing whatever the number of volumes:
mount state comes from /proc/self/mountinfo and devices from sysfs or the
same listing, never from a command per volume."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import cli, mounts, paths, storage, validate


def main(args):
    if not args:
        return storage.inventory()
    (user,) = validate.arguments(args, "USER")
    name = validate.managed_account(user).pw_name
    volume = storage.backend().get(name)
    if volume is None:
        return {"volume": None}
    return {"volume": storage.describe(volume, paths.directories_root(), mounts.table())}


if __name__ == "__main__":
    cli.run(main)
