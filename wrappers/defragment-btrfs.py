#!/usr/bin/python3 -IB
"""defragment-btrfs.py USER: defragment USER's mounted btrfs volume
(btrfs filesystem defragment -r)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import cli, commands, locks, paths, storage, validate
from wrapperlib.errors import Refusal
from wrapperlib.storage import actions

TIMEOUT_SECONDS = 6 * 3600


def main(args):
    (user,) = validate.arguments(args, "USER")
    name = validate.managed_account(user).pw_name
    with locks.volume_lock(name):
        store = storage.backend()
        if actions.mounted_fstype(store, name) != "btrfs":
            raise Refusal(f"{name}'s volume is not btrfs")
        # btrfs walks the tree without following symlinks (nftw FTW_PHYS),
        # from the mount point: a root-owned directory, the volume's root.
        completed = commands.run(
            ["btrfs", "filesystem", "defragment", "-r", str(paths.mount_point(name))],
            timeout=TIMEOUT_SECONDS,
        )
    return {"user": name, "summary": commands.last_line(completed.stdout or "done")}


if __name__ == "__main__":
    cli.run(main)
