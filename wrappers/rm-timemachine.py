#!/usr/bin/python3 -IB
"""rm-timemachine.py USER: remove the Time Machine bundles (*.sparsebundle,
*.backupbundle directories) at the top level of USER's mounted volume.

The removal runs as USER (wrapperlib.as_user), walks directories by file
descriptor and never follows a symlink: a link named like a bundle, or one
inside a bundle, is at most unlinked itself, whatever it points to. It is
bounded by SCAN_MAX_ENTRIES and SCAN_MAX_SECONDS, and removes while it
reads, so a run stopped by a bound has removed what it reached and the
next one continues. Names come back escaped (\\xNN), at most MAX_NAMES.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import as_user, cli, locks, mounts, paths, validate
from wrapperlib.config import settings
from wrapperlib.discovery.found import display
from wrapperlib.discovery.removal import Nested, Removal
from wrapperlib.discovery.walk import Budget, Dir, Exhausted, Limits
from wrapperlib.errors import Failure, Refusal

BUNDLE_SUFFIXES = (".sparsebundle", ".backupbundle")
# Names listed in the output at most; the rest are counted.
MAX_NAMES = 100
# The worker reports a bound it hit itself; this margin is for the parent's
# hard stop, which only catches a worker that hangs.
WORKER_MARGIN_SECONDS = 10


def _bundles(root):
    with os.scandir(root.fd) as iterator:
        for entry in iterator:
            root.budget.spend()
            if entry.is_dir(follow_symlinks=False) and entry.name.endswith(BUNDLE_SUFFIXES):
                yield entry.name


def _remove_bundles(mount_point, max_entries, max_seconds):
    """Runs as the user: {"removed": [names], "entries", "stopped": reason or None}.

    Names are escaped here, in the only process that has them raw: a name
    is the user's, and may hold a newline, an escape or bytes that are not
    UTF-8.
    """
    removed, removal, stopped = [], Removal(), None
    with Dir.open_root(mount_point, Budget(Limits(max_entries, max_seconds))) as root:
        try:
            # Listed first: removing while reading the root could skip a bundle.
            for name in sorted(_bundles(root)):
                removal.tree(root, name)
                removed.append(display(name))
        except Exhausted as stop:
            stopped = str(stop)
        except Nested as problem:
            raise Failure(str(problem)) from None
    return {"removed": removed, "entries": removal.removed, "stopped": stopped}


def _summary(names):
    shown = ", ".join(names[:MAX_NAMES])
    more = len(names) - MAX_NAMES
    return f"{shown} and {more} more" if more > 0 else shown


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
        raise Failure(
            f"stopped ({outcome['stopped']}) after removing {outcome['entries']} entries"
            f" ({_summary(outcome['removed']) or 'no whole bundle yet'});"
            " run it again to continue"
        )
    return {
        "user": account.pw_name,
        "removed": outcome["removed"][:MAX_NAMES],
        "more_removed": max(0, len(outcome["removed"]) - MAX_NAMES),
    }


if __name__ == "__main__":
    cli.run(main)
