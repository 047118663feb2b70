#!/usr/bin/python3 -IB
"""fetch_backups.py USER: which backups USER's volume holds, read as USER.

Prints {"user", "scanned_at", "truncated", "sources", "more_sources",
"unrecognised", "more_unrecognised"} (wrappers/README.md has the full
schema), under 64 KiB whatever the volume holds. The volume is read by a child
running with the user's uid/gid, never following a symlink, within
SCAN_MAX_ENTRIES directory entries and SCAN_MAX_SECONDS; a scan that reaches
either bound reports what it found with "truncated": true.
"""

import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import as_user, cli, discovery, locks, paths, validate
from wrapperlib.config import settings
from wrapperlib.errors import Refusal

# Time for the child to report after its own deadline before it is killed.
REPORT_GRACE_SECONDS = 10


def _volume_root(user):
    # A mount point in production; a plain directory is scanned the same way.
    root = paths.mount_point(user)
    if not root.is_dir():
        raise Refusal(f"{user} has no volume at {root}")
    return root


def main(args):
    (user,) = validate.arguments(args, "USER")
    account = validate.managed_account(user)
    config = settings()
    limits = discovery.Limits(config.SCAN_MAX_ENTRIES, config.SCAN_MAX_SECONDS)
    _volume_root(account.pw_name)
    with locks.volume_lock(account.pw_name):
        root = _volume_root(account.pw_name)  # again, now that nothing can remove it
        scanned_at = datetime.datetime.now(datetime.UTC)
        result = as_user.run(
            account,
            lambda: discovery.scan(str(root), limits),
            limits.max_seconds + REPORT_GRACE_SECONDS,
        )
    return {
        "user": account.pw_name,
        "scanned_at": scanned_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        **result,
    }


if __name__ == "__main__":
    cli.run(main)
