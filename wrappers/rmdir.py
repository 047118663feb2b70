#!/usr/bin/python3 -IB
"""rmdir.py USER: remove USER's mount point <DIRECTORIES_ROOT>/USER.

Refused while a volume is mounted there or when it is not empty."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import cli, locks, mounts, paths, validate
from wrapperlib.errors import Refusal


def main(args):
    (user,) = validate.arguments(args, "USER")
    name = validate.managed_account(user).pw_name
    with locks.volume_lock(name):
        path = paths.mount_point(name)
        if not os.path.lexists(path):
            raise Refusal(f"{path} does not exist")
        if mounts.mounted_at(path) is not None:
            raise Refusal(f"{path} is still mounted; unmount it first")
        with os.scandir(path) as entries:
            if any(True for _ in entries):
                raise Refusal(f"{path} is not empty")
        os.rmdir(path)
    return {"user": name}


if __name__ == "__main__":
    cli.run(main)
