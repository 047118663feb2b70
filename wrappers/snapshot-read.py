#!/usr/bin/python3 -IB
"""snapshot-read.py USER SNAPSHOT PATH: one regular file of one of USER's
snapshots, read as USER, written to stdout: first one JSON line
{"name", "size_bytes"}, then exactly size_bytes bytes of the file.

PATH is refs joined by "/" (as for snapshot-browse.py), every component
opened with O_NOFOLLOW; anything but a regular file (a folder, a link, a
device, a FIFO) and a file over SNAPSHOT_DOWNLOAD_MAX_BYTES are refused
before a byte is written. Bounded by SNAPSHOT_DOWNLOAD_MAX_SECONDS (the
volume's lock is held meanwhile); a reader that stops reading stops it."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import as_user, cli, locks, snapshot_files, snapshot_ops, snapshots, validate
from wrapperlib.config import settings
from wrapperlib.errors import Refusal

WORKER_MARGIN_SECONDS = 10


def main(args):
    user, name, path = validate.arguments(args, "USER", "SNAPSHOT", "PATH")
    account = validate.managed_account(user)
    snapshots.snapshot_name(name)
    names = snapshot_files.parse_path(path)
    if not names:
        raise Refusal("invalid path: give one file of the snapshot, not its top folder")
    config = settings()
    # The lock is held for the whole (bounded) read, as for browsing: the
    # snapshot can't be pruned and the layout can't change meanwhile.
    with locks.volume_lock(account.pw_name):
        top = snapshot_ops.require_top_level(account.pw_name)
        root = snapshot_ops.path_of(top, name)
        as_user.run(
            account,
            lambda: snapshot_files.send_file(
                root, names, config.SNAPSHOT_DOWNLOAD_MAX_BYTES, sys.stdout.fileno()
            ),
            config.SNAPSHOT_DOWNLOAD_MAX_SECONDS + WORKER_MARGIN_SECONDS,
        )
    return None  # stdout holds the file


if __name__ == "__main__":
    cli.run(main)
