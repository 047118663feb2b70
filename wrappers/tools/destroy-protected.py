#!/usr/bin/python3 -IB
"""destroy-protected.py USER: destroy every snapshot of USER's suspended
volume now, protected or not. For a server administrator, as root, at a
terminal: it asks for USER's name to be typed again and logs to syslog.

Deliberately not a wrapper: it is not in sudoers, so a taken-over service
account (or the portal) can never shorten the protection. Afterwards
lvremove.py can remove the volume. Refused unless the volume is suspended
(suspend.py: unmounted, logons locked)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.realpath(__file__))))

from wrapperlib import accounts, cli, commands, layout, locks, paths, storage, validate
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
    volume = actions.require_volume(store, name)
    if actions.mount_state(volume, paths.mount_point(name)) is not None:
        raise Refusal(f"{name}'s volume is mounted: suspend it first (suspend.py)")
    if not accounts.logons_suspended(account):
        raise Refusal(f"{name}'s volume is not suspended: suspend it first (suspend.py)")
    confirm(name)
    destroyed = []
    with (
        locks.volume_lock(name),
        actions.attached(store, name) as device,
        layout.private_top(device) as top,
    ):
        if not layout.has_layout(top):
            return {"user": name, "destroyed": []}
        for snapshot in names(top):
            # Past the one gate on purpose: this is root at a terminal.
            path = os.path.join(top, layout.SNAPSHOTS, snapshot)
            commands.run(["btrfs", "subvolume", "delete", path])
            destroyed.append(snapshot)
    return {"user": name, "destroyed": destroyed}


if __name__ == "__main__":
    cli.run(main)
