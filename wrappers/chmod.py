#!/usr/bin/python3 -IB
"""chmod.py USER: mode 0700 on the root of USER's mounted volume.

Only the root of the mounted volume, opened without following symlinks."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import cli, locks, storage, validate
from wrapperlib.storage import actions

MODE = 0o700


def main(args):
    (user,) = validate.arguments(args, "USER")
    name = validate.managed_account(user).pw_name
    with locks.volume_lock(name), actions.root_fd(storage.backend(), name) as fd:
        os.fchmod(fd, MODE)
    return {"user": name}


if __name__ == "__main__":
    cli.run(main)
