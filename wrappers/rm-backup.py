#!/usr/bin/python3 -IB
"""rm-backup.py USER FORMAT PATH: delete one backup source from USER's
mounted volume: the one a scan finds with that format at that path, PATH
as fetch_backups.py shows it (escaped).

The wrapper scans the volume again as USER and deletes only a source it
recognises there, so nothing the caller names can reach anything else: not
a folder that holds no backup, not the volume itself. A folder is first
renamed, as USER, into the volume's .backups-being-deleted folder, then
removed while read, within SCAN_MAX_ENTRIES and SCAN_MAX_SECONDS; a run
stopped by a bound fails saying so, and the next run (with the same or any
arguments) finishes what is there first. A file-based backup sharing its
folder (duplicity, Duplicati) loses only its own files.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import as_user, cli, discovery, locks, mounts, paths, validate
from wrapperlib.config import settings
from wrapperlib.discovery.found import display_path
from wrapperlib.discovery.removal import TRASH, Nested, Removal
from wrapperlib.discovery.walk import Budget, Dir, Exhausted, Limits
from wrapperlib.errors import Failure, Refusal

# Longest PATH taken: fetch_backups.py cuts paths to 300 characters.
MAX_PATH_CHARS = 300
# The worker reports a bound it hit itself; this margin is for the parent's
# hard stop, which only catches a worker that hangs.
WORKER_MARGIN_SECONDS = 10


def _format(text):
    if text not in discovery.FORMATS:
        raise Refusal(f"unknown backup format {text!r}")
    return text


def _shown_path(text):
    if not 0 < len(text) <= MAX_PATH_CHARS or not text.isprintable():
        raise Refusal("invalid PATH: give a backup's path as fetch_backups.py shows it")
    if text == ".":
        raise Refusal("the backup is the whole volume: delete the volume instead")
    return text


def _open_parent(root, path):
    directory = root.reopen(root.budget)
    for name in path[:-1]:
        try:
            inner = directory.open_dir(name)
        finally:
            directory.close()
        directory = inner
    return directory


def _take_away(root, source, removal):
    """Move the source's folder into TRASH (one rename), or remove its files."""
    with _open_parent(root, source.path) as parent:
        if source.owns is not None:
            with parent.open_dir(source.path[-1]) as folder:
                removal.files(folder, source.owns)
            return
        if not root.has_dir(TRASH):
            os.mkdir(TRASH, 0o700, dir_fd=root.fd)
        with root.open_dir(TRASH) as trash:
            token = f"{time.time_ns()}-{os.getpid()}"
            os.rename(source.path[-1], token, src_dir_fd=parent.fd, dst_dir_fd=trash.fd)


def _delete(mount_point, fmt, shown, limits):
    """Runs as the user: {"removed_entries", "stopped": reason or None}."""
    with Dir.open_root(mount_point, Budget(limits)) as root:
        pending = root.has_dir(TRASH)
        try:
            matches = [
                source
                for source in discovery.sources_in(root)
                if source.format == fmt and display_path(source.path) == shown
            ]
        except Exhausted:
            raise Refusal("the volume holds too much to find the backup in time") from None
        if len(matches) > 1:
            raise Refusal(f"several {fmt} backups are at {shown}; nothing was deleted")
        if not matches and not pending:
            raise Refusal(f"no {fmt} backup at {shown} on the volume; nothing was deleted")
        removal = Removal()
        root.budget = Budget(limits)  # the search had its own
        try:
            if matches:
                _take_away(root, matches[0], removal)
            removal.trash(root)
        except Exhausted as stop:
            return {"removed_entries": removal.removed, "stopped": str(stop)}
        except Nested as problem:
            raise Failure(str(problem)) from None
    return {"removed_entries": removal.removed, "stopped": None}


def _mounted_volume(user):
    mount_point = paths.mount_point(user)
    if mounts.mounted_at(mount_point) is None:
        raise Refusal(f"{user}'s volume is not mounted")
    return mount_point


def main(args: list[str]) -> dict:
    user, fmt, shown = validate.arguments(args, "USER", "FORMAT", "PATH")
    account = validate.managed_account(user)
    fmt, shown = _format(fmt), _shown_path(shown)
    config = settings()
    limits = Limits(config.SCAN_MAX_ENTRIES, config.SCAN_MAX_SECONDS)
    _mounted_volume(account.pw_name)
    with locks.volume_lock(account.pw_name):
        mount_point = _mounted_volume(account.pw_name)  # again, now that nothing can unmount it
        outcome = as_user.run(
            account,
            lambda: _delete(str(mount_point), fmt, shown, limits),
            2 * config.SCAN_MAX_SECONDS + WORKER_MARGIN_SECONDS,
        )
    if outcome["stopped"]:
        raise Failure(
            f"stopped ({outcome['stopped']}) after removing {outcome['removed_entries']} entries;"
            " run it again to continue"
        )
    return {
        "user": account.pw_name,
        "format": fmt,
        "path": shown,
        "removed_entries": outcome["removed_entries"],
    }


if __name__ == "__main__":
    cli.run(main)
