#!/usr/bin/python3 -IB
"""scrub-btrfs.py USER: verify every checksum on USER's mounted btrfs volume
(btrfs scrub start -B) and report the errors found."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import cli, commands, locks, paths, storage, validate
from wrapperlib.errors import Failure, Refusal
from wrapperlib.storage import actions

TIMEOUT_SECONDS = 12 * 3600
# btrfs scrub exits 3 when it found errors it could not correct: a result.
SCRUB_FOUND_ERRORS = 3


def main(args):
    (user,) = validate.arguments(args, "USER")
    name = validate.managed_account(user).pw_name
    with locks.volume_lock(name):
        store = storage.backend()
        if actions.mounted_fstype(store, name) != "btrfs":
            raise Refusal(f"{name}\x27s volume is not btrfs")
        mount_point = str(paths.mount_point(name))
        completed = commands.run(
            ["btrfs", "scrub", "start", "-B", "-R", mount_point],
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    if completed.returncode not in (0, SCRUB_FOUND_ERRORS):
        raise Failure(f"btrfs scrub failed: {commands.last_line(completed.stderr)}")
    errors = 0
    for line in completed.stdout.splitlines():
        key, _, value = line.strip().partition(":")
        if key.endswith("_errors") and value.strip().isdigit():
            errors += int(value)
    return {"user": name, "errors": errors, "summary": commands.last_line(completed.stdout)}


if __name__ == "__main__":
    cli.run(main)
