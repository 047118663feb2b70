#!/usr/bin/python3 -IB
"""snapshot-restore.py USER SNAPSHOT PATH [FOLDER]: copy the file or folder
PATH (refs, as for snapshot-browse.py; "." for everything) from one of
USER's snapshots into the live volume, as USER, never overwriting anything:
into a new top-level folder FOLDER (the portal names it in its user's
language; without it "Restored <snapshot's YYYY-MM-DD HH.MM> from
snapshot"), " (2)", " (3)"... when it exists, under the folders PATH was in
within the snapshot. Bounded by SNAPSHOT_RESTORE_MAX_ENTRIES
and SNAPSHOT_RESTORE_MAX_SECONDS: stopped by one, it fails, saying what it
had copied where."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import as_user, cli, locks, paths, snapshot_files, snapshot_ops, snapshots, validate
from wrapperlib.config import settings
from wrapperlib.errors import Failure, Refusal

WORKER_MARGIN_SECONDS = 10


def main(args):
    if len(args) > 3:
        user, name, path, folder = validate.arguments(args, "USER", "SNAPSHOT", "PATH", "FOLDER")
    else:
        user, name, path = validate.arguments(args, "USER", "SNAPSHOT", "PATH")
        folder = None
    account = validate.managed_account(user)
    snapshots.snapshot_name(name)
    names = snapshot_files.parse_path(path)
    if folder is None:
        folder = f"Restored {snapshots.taken_at(name):%Y-%m-%d %H.%M} from snapshot"
    folder = snapshot_files.folder_name(folder)
    config = settings()
    with locks.volume_lock(account.pw_name):
        top = snapshot_ops.require_top_level(account.pw_name)
        root = snapshot_ops.path_of(top, name)
        volume_root = os.fspath(paths.mount_point(account.pw_name))
        if not os.path.ismount(volume_root):
            raise Refusal(f"{account.pw_name}'s volume is not mounted")
        outcome = as_user.run(
            account,
            lambda: snapshot_files.restore(
                root,
                names,
                volume_root,
                folder,
                config.SNAPSHOT_RESTORE_MAX_ENTRIES,
                config.SNAPSHOT_RESTORE_MAX_SECONDS,
            ),
            config.SNAPSHOT_RESTORE_MAX_SECONDS + WORKER_MARGIN_SECONDS,
        )
    if outcome["stopped"]:
        raise Failure(
            f"stopped ({outcome['stopped']}) after copying {outcome['files']} files into"
            f" {outcome['restored_to']!r}; restore smaller folders one at a time"
        )
    return {
        "user": account.pw_name,
        "snapshot": name,
        "path": path,
        "restored_to": outcome["restored_to"],
        "files": outcome["files"],
        "bytes": outcome["bytes"],
    }


if __name__ == "__main__":
    cli.run(main)
