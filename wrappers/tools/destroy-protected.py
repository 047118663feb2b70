#!/usr/bin/python3 -IB
"""destroy-protected.py USER: destroy USER's suspended volume now, its
protected snapshots included. For a server administrator, as root, at a
terminal: it asks for USER's name to be typed again and logs to syslog.

Deliberately not a wrapper: it is not in sudoers, so a taken-over service
account (or the portal) can never shorten the protection. Refused unless
the volume is suspended (suspend.py's record, or, for a volume suspended
before records existed, a locked password) and unmounted.

It finishes what it starts: every snapshot deleted, then the volume removed
(as lvremove.py would) and the suspended record with it. What remains is
said in its result: the backup account (logons still locked) and its empty
mount point, which the portal's destruction step removes (rmdir.py,
deluser.py) after finding the volume gone (lvdisplay.py USER: null).
Stopped half-way, running it again finishes it."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.realpath(__file__))))

from wrapperlib import (
    accounts,
    cli,
    commands,
    crashsafe,
    filesystems,
    layout,
    locks,
    paths,
    records,
    storage,
    validate,
)
from wrapperlib.errors import Refusal
from wrapperlib.snapshot_ops import names
from wrapperlib.storage import actions


def confirm(name):
    if not sys.stdin.isatty():
        raise Refusal("run it at a terminal: it asks for the user's name to be typed")
    print(
        f"This destroys every snapshot of {name}'s volume now, including protected ones."
        f" Type {name} to go on: ",
        end="",
        file=sys.stderr,
        flush=True,
    )
    if sys.stdin.readline().strip() != name:
        raise Refusal("the name typed did not match; nothing was destroyed")


def main(args):
    (user,) = validate.arguments(args, "USER")
    account = validate.managed_account(user)
    name = account.pw_name
    store = storage.backend()
    suspended = records.suspended(name) or accounts.logons_suspended(account)
    if not suspended:
        raise Refusal(f"{name}'s volume is not suspended: suspend it first (suspend.py)")
    if store.get(name) is None:
        # A run stopped after the removal: only the record was left.
        with locks.volume_lock(name):
            records.remove(records.SUSPENDED, name)
        return _result(name, [])
    volume = store.get(name)
    if actions.mount_state(volume, paths.mount_point(name)) is not None:
        raise Refusal(f"{name}'s volume is mounted: suspend it first (suspend.py)")
    confirm(name)
    destroyed = []
    with locks.volume_lock(name), crashsafe.deferred():
        volume = actions.require_volume(store, name)
        if actions.mount_state(volume, paths.mount_point(name)) is not None:
            raise Refusal(f"{name}'s volume is mounted: suspend it first (suspend.py)")
        probe = store.probe_path(name)
        if probe is not None and filesystems.detect(probe) == "btrfs":
            with (
                actions.attached(store, name) as device,
                layout.private_top(device, name) as top,
            ):
                if os.path.lexists(os.path.join(top, layout.SNAPSHOTS)):
                    for snapshot in names(top):
                        # Past the one gate on purpose: this is root at a terminal.
                        path = os.path.join(top, layout.SNAPSHOTS, snapshot)
                        commands.run(["btrfs", "subvolume", "delete", path])
                        destroyed.append(snapshot)
        store.remove(name)
        records.remove(records.SUSPENDED, name)
    return _result(name, destroyed)


def _result(name, destroyed):
    mount_point = paths.mount_point(name)
    remains = [f"the backup account {name} (its logons locked)"]
    if os.path.lexists(mount_point):
        remains.append(f"its empty mount point {mount_point}")
    return {
        "user": name,
        "destroyed": destroyed,
        "volume_removed": True,
        "remains": remains,
        "next": "the portal's destruction step removes these (rmdir.py, deluser.py)",
    }


if __name__ == "__main__":
    cli.run(main)
