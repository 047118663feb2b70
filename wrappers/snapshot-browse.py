#!/usr/bin/python3 -IB
"""snapshot-browse.py USER SNAPSHOT PATH: one folder of one of USER's
snapshots, read as USER, at most SNAPSHOT_BROWSE_MAX_ENTRIES entries.

PATH is "." (the snapshot's root) or the entries' refs (base64url of the
raw name, no padding) joined by "/", so any name can be addressed; names
are shown escaped (undecodable bytes and control characters)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import as_user, cli, locks, snapshot_files, snapshot_ops, snapshots, validate
from wrapperlib.config import settings

WORKER_MARGIN_SECONDS = 10


def main(args):
    user, name, path = validate.arguments(args, "USER", "SNAPSHOT", "PATH")
    account = validate.managed_account(user)
    snapshots.snapshot_name(name)
    names = snapshot_files.parse_path(path)
    config = settings()
    with locks.volume_lock(account.pw_name):
        top = snapshot_ops.top_level(account.pw_name)
        if top is None:
            return {"user": account.pw_name, "supported": False, "snapshot": name, "path": path,
                    "entries": [], "total": 0, "truncated": False}  # fmt: skip
        root = snapshot_ops.path_of(top, name)
        listing = as_user.run(
            account,
            lambda: snapshot_files.browse(
                root, names, config.SNAPSHOT_BROWSE_MAX_ENTRIES, config.SCAN_MAX_SECONDS
            ),
            config.SCAN_MAX_SECONDS + WORKER_MARGIN_SECONDS,
        )
    return {"user": account.pw_name, "supported": True, "snapshot": name, "path": path, **listing}


if __name__ == "__main__":
    cli.run(main)
