#!/usr/bin/python3 -IB
"""mkdir.py USER: create USER's mount point <DIRECTORIES_ROOT>/USER (root-owned, 0755)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import cli, locks, paths, validate
from wrapperlib.errors import Refusal


def main(args):
    (user,) = validate.arguments(args, "USER")
    account = validate.managed_account(user)
    with locks.volume_lock(account.pw_name):
        path = paths.mount_point(account.pw_name)
        if os.path.lexists(path):
            raise Refusal(f"{path} already exists")
        # Made and chmod'ed relative to the root's descriptor, never through
        # a path: what is changed is what was made.
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
        root = os.open(path.parent, flags)
        try:
            os.mkdir(path.name, 0o755, dir_fd=root)
            fd = os.open(path.name, flags, dir_fd=root)
            try:
                os.fchmod(fd, 0o755)  # not narrowed by the umask
            finally:
                os.close(fd)
        finally:
            os.close(root)
    return {"user": account.pw_name, "path": str(path)}


if __name__ == "__main__":
    cli.run(main)
