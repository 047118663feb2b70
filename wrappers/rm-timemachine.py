#!/usr/bin/python3 -IB
"""rm-timemachine.py USER: remove the Time Machine bundles (*.sparsebundle,
*.backupbundle directories) at the top level of USER's mounted volume.

The removal runs as USER (wrapperlib.as_user), walks directories by file
descriptor and never follows a symlink: a link named like a bundle, or one
inside a bundle, is at most unlinked itself, whatever it points to. It is
bounded by SCAN_MAX_ENTRIES and SCAN_MAX_SECONDS; when a bound stops it,
running it again continues.
"""

import errno
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import as_user, cli, locks, mounts, paths, validate
from wrapperlib.config import settings
from wrapperlib.discovery.walk import Budget, Dir, Exhausted, Limits
from wrapperlib.errors import Failure, Refusal

BUNDLE_SUFFIXES = (".sparsebundle", ".backupbundle")
# Directory descriptors held at once while descending (bundles are 2 deep).
MAX_DEPTH = 64
# The worker reports a bound it hit itself; this margin is for the parent's
# hard stop, which only catches a worker that hangs.
WORKER_MARGIN_SECONDS = 10


def _remove_tree(parent, name, depth=0):
    """Remove directory NAME of parent and all it holds, never following links
    (walk.Dir opens every directory O_NOFOLLOW relative to its parent)."""
    if depth >= MAX_DEPTH:
        raise Failure(f"{name} is nested more than {MAX_DEPTH} directories deep")
    try:
        directory = parent.open_dir(name)
    except OSError as error:
        if error.errno == errno.EXDEV:
            raise Failure(f"{name} is another filesystem mounted inside the volume") from None
        raise
    with directory:
        for entry in directory.entries():
            if entry.kind == "dir":
                _remove_tree(directory, entry.name, depth + 1)
            else:
                os.unlink(entry.name, dir_fd=directory.fd)
    os.rmdir(name, dir_fd=parent.fd)


def _remove_bundles(mount_point, max_entries, max_seconds):
    """Runs as the user: {"removed": [names], "stopped": reason or None}."""
    removed = []
    with Dir.open_root(mount_point, Budget(Limits(max_entries, max_seconds))) as root:
        try:
            bundles = sorted(
                entry.name
                for entry in root.entries()
                if entry.kind == "dir" and entry.name.endswith(BUNDLE_SUFFIXES)
            )
            for name in bundles:
                _remove_tree(root, name)
                removed.append(name)
        except Exhausted as stop:
            return {"removed": removed, "stopped": str(stop)}
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
