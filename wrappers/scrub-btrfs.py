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
# Counters of `scrub start -R` that count errors found (corrected_errors and
# uncorrectable_errors split the same errors again by outcome).
DETECTED = ("read_errors", "csum_errors", "verify_errors", "super_errors")


def main(args):
    (user,) = validate.arguments(args, "USER")
    name = validate.managed_account(user).pw_name
    with locks.volume_lock(name):
        store = storage.backend()
        if actions.mounted_fstype(store, name) != "btrfs":
            raise Refusal(f"{name}'s volume is not btrfs")
        mount_point = str(paths.mount_point(name))
        completed = commands.run(
            ["btrfs", "scrub", "start", "-B", "-R", mount_point],
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    if completed.returncode not in (0, SCRUB_FOUND_ERRORS):
        raise Failure(f"btrfs scrub failed: {commands.last_line(completed.stderr)}")
    stats = {}
    for line in completed.stdout.splitlines():
        key, _, value = line.strip().partition(":")
        if value.strip().isdigit():
            stats[key] = int(value)
    # Errors found, whether scrub could repair them (from another copy) or not.
    errors = sum(stats.get(key, 0) for key in DETECTED)
    uncorrectable = stats.get("uncorrectable_errors", 0)
    checked = stats.get("data_bytes_scrubbed", 0) + stats.get("tree_bytes_scrubbed", 0)
    summary = (
        f"{errors} error(s) found, {uncorrectable} not correctable" if errors else "no errors found"
    )
    return {"user": name, "errors": errors, "summary": f"{summary}; {checked} bytes checked"}


if __name__ == "__main__":
    cli.run(main)
