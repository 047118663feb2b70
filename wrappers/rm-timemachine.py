#!/usr/bin/python3 -IB
"""rm-timemachine.py USER: remove the Time Machine bundles (*.sparsebundle,
*.backupbundle directories) at the top level of USER's mounted volume.

The removal runs as USER (wrapperlib.as_user), walks directories by file
descriptor and never follows a symlink: a link named like a bundle, or one
inside a bundle, is at most unlinked itself, whatever it points to. It is
bounded by SCAN_MAX_ENTRIES and SCAN_MAX_SECONDS; when a bound stops it,
running it again continues.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import as_user, cli, locks, mounts, paths, validate
from wrapperlib.config import settings
from wrapperlib.errors import Failure, Refusal

BUNDLE_SUFFIXES = (".sparsebundle", ".backupbundle")
# Directory descriptors held at once while descending (bundles are 2 deep).
MAX_DEPTH = 64
DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# The worker reports a bound it hit itself; this margin is for the parent's
# hard stop, which only catches a worker that hangs.
WORKER_MARGIN_SECONDS = 10


class Stop(Exception):
    pass


class Budget:
    def __init__(self, entries, seconds):
        self.entries = entries
        self.deadline = time.monotonic() + seconds
        self.seconds = seconds

    def spend(self):
        self.entries -= 1
        if self.entries < 0:
            raise Stop("too many entries")
        if time.monotonic() > self.deadline:
            raise Stop(f"time limit of {self.seconds} s reached")


def _open_directory(name, dir_fd, device):
    fd = os.open(name, DIRECTORY_FLAGS, dir_fd=dir_fd)
    if os.fstat(fd).st_dev != device:
        os.close(fd)
        raise Failure(f"{name} is another filesystem mounted inside the volume")
    return fd


def _remove_tree(root_fd, name, device, budget):
    """Remove directory NAME of root_fd and all it holds, never following links."""
    # Frames: [parent fd, name, fd, subdirectories still to remove or None].
    stack = [[root_fd, name, _open_directory(name, root_fd, device), None]]
    try:
        while stack:
            frame = stack[-1]
            parent_fd, directory, fd, subdirectories = frame
            if subdirectories is None:
                subdirectories = frame[3] = []
                with os.scandir(fd) as entries:
                    listing = list(entries)
                for entry in listing:
                    budget.spend()
                    if entry.is_dir(follow_symlinks=False):
                        subdirectories.append(entry.name)
                    else:
                        os.unlink(entry.name, dir_fd=fd)
            if subdirectories:
                if len(stack) >= MAX_DEPTH:
                    raise Failure(f"{name} is nested more than {MAX_DEPTH} directories deep")
                child = subdirectories.pop()
                stack.append([fd, child, _open_directory(child, fd, device), None])
            else:
                stack.pop()
                os.close(fd)
                os.rmdir(directory, dir_fd=parent_fd)
    finally:
        for frame in stack:
            os.close(frame[2])


def _remove_bundles(mount_point, max_entries, max_seconds):
    """Runs as the user: {"removed": [names], "stopped": reason or None}."""
    budget = Budget(max_entries, max_seconds)
    removed = []
    root_fd = os.open(mount_point, DIRECTORY_FLAGS)
    try:
        device = os.fstat(root_fd).st_dev
        bundles = []
        with os.scandir(root_fd) as entries:
            for entry in entries:
                budget.spend()
                if entry.name.endswith(BUNDLE_SUFFIXES) and entry.is_dir(follow_symlinks=False):
                    bundles.append(entry.name)
        for name in sorted(bundles):
            _remove_tree(root_fd, name, device, budget)
            removed.append(name)
    except Stop as stop:
        return {"removed": removed, "stopped": str(stop)}
    finally:
        os.close(root_fd)
    return {"removed": removed, "stopped": None}


def _mounted_volume(user):
    mount_point = paths.mount_point(user)
    if mounts.mounted_at(mount_point) is None:
        raise Refusal(f"{user}'s volume is not mounted")
    return mount_point


def main(args):
    (user,) = validate.arguments(args, "USER")
    account = validate.managed_account(user)
    config = settings()
    _mounted_volume(account.pw_name)
    with locks.volume_lock(account.pw_name):
        mount_point = _mounted_volume(account.pw_name)  # again, now that nothing can unmount it
        outcome = as_user.run(
            account,
            lambda: _remove_bundles(
                str(mount_point), config.SCAN_MAX_ENTRIES, config.SCAN_MAX_SECONDS
            ),
            config.SCAN_MAX_SECONDS + WORKER_MARGIN_SECONDS,
        )
    if outcome["stopped"]:
        removed = ", ".join(outcome["removed"]) or "nothing"
        raise Failure(
            f"stopped ({outcome['stopped']}) after removing {removed}; run it again to continue"
        )
    return {"user": account.pw_name, "removed": outcome["removed"]}


if __name__ == "__main__":
    cli.run(main)
