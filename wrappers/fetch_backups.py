#!/usr/bin/python3 -IB
"""fetch_backups.py [USER]: which backups USER's volume holds, read as USER;
without USER, every backup account's volume in one call.

With USER, prints {"user", "scanned_at", "truncated", "sources",
"more_sources", "unrecognised", "more_unrecognised"} (wrappers/README.md has
the full schema), under 64 KiB whatever the volume holds. The volume is read
by a child running with the user's uid/gid, never following a symlink,
within SCAN_MAX_ENTRIES directory entries and SCAN_MAX_SECONDS; a scan that
reaches either bound reports what it found with "truncated": true.

Without USER, prints {"volumes": [...]}: for each account of the managed
group with a volume directory, the same report plus "mounted", or
{"user", "skipped": why} when it could not be scanned (busy, unreadable,
out of time). PARALLEL_SCANS volumes are scanned at once, each bounded as
above; no new scan starts after ALL_MAX_SECONDS.
"""

import datetime
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import as_user, cli, discovery, locks, mounts, paths, validate
from wrapperlib.config import settings
from wrapperlib.errors import Failure, Refusal

# Time for the child to report after its own deadline before it is killed.
REPORT_GRACE_SECONDS = 10
# Children scanning at once in the all-volumes form: the scans wait on the
# disk as much as they compute, and each is bounded in entries and time.
PARALLEL_SCANS = 8
# The all-volumes form stops starting scans after this long, so that the
# call ends well within the portal's WRAPPER_TIMEOUT_SECONDS (900).
ALL_MAX_SECONDS = 600
# How long the all-volumes form waits for a volume busy with an operation.
BUSY_WAIT_SECONDS = 1


def _volume_root(user):
    # A mount point in production; a plain directory is scanned the same way.
    root = paths.mount_point(user)
    if not root.is_dir():
        raise Refusal(f"{user} has no volume at {root}")
    return root


def _scan(account, limits, lock_timeout=None):
    with locks.volume_lock(account.pw_name, lock_timeout):
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


def _accounts_with_volumes():
    """Every backup account (as validate.managed_account decides) with a
    volume directory."""
    # The account database is read once for the run (validate.Accounts):
    # asking the system per volume rereads /etc/passwd each time. Only the
    # managed group's members are validated, with the one-user path's rules.
    accounts = validate.Accounts()
    found = []
    for entry in accounts.members():
        try:
            account = validate.managed_account(entry.pw_name, accounts)
            _volume_root(account.pw_name)
        except Refusal:
            continue
        found.append(account)
    return sorted(found, key=lambda account: account.pw_name)


def _scan_all(limits):
    table = mounts.table()
    deadline = time.monotonic() + ALL_MAX_SECONDS

    def one(account):
        name = account.pw_name
        if time.monotonic() > deadline:
            return {"user": name, "skipped": f"not reached within {ALL_MAX_SECONDS} s"}
        try:
            report = _scan(account, limits, BUSY_WAIT_SECONDS)
        except (Refusal, Failure, OSError) as problem:
            return {"user": name, "skipped": str(problem)}
        report["mounted"] = mounts.mounted_at(paths.mount_point(name), table) is not None
        return report

    # Imported here: it brings threading and logging, which the one-volume
    # scan (the dashboard's call) never needs.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=PARALLEL_SCANS) as pool:
        return {"volumes": list(pool.map(one, _accounts_with_volumes()))}


def main(args: list[str]) -> dict:
    config = settings()
    limits = discovery.Limits(config.SCAN_MAX_ENTRIES, config.SCAN_MAX_SECONDS)
    if not args:
        return _scan_all(limits)
    (user,) = validate.arguments(args, "USER")
    account = validate.managed_account(user)
    _volume_root(account.pw_name)
    return _scan(account, limits)


if __name__ == "__main__":
    cli.run(main)
