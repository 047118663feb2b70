#!/usr/bin/python3 -IB
"""df.py [USER]: space and inode usage of every mounted volume, or of USER's
(an empty list when it is not mounted). Read with statvfs, no command run."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import cli, filesystems, mounts, paths, storage, validate


def _usage(volume):
    # Opened without following symlinks: the mount point is the volume root.
    fd = os.open(volume["mount_point"], os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        figures = filesystems.usage(fd)
    finally:
        os.close(fd)
    return {"user": volume["user"], "mount_point": volume["mount_point"], **figures}


def main(args):
    if args:
        (user,) = validate.arguments(args, "USER")
        name = validate.managed_account(user).pw_name
        volume = storage.backend().get(name)
        table = mounts.table()
        described = [storage.describe(volume, paths.directories_root(), table)] if volume else []
    else:
        described = storage.inventory()["volumes"]
    return {"volumes": [_usage(volume) for volume in described if volume["mounted"]]}


if __name__ == "__main__":
    cli.run(main)
