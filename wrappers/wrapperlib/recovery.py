"""Putting a volume back in order after a wrapper was stopped half-way.

Runs when a volume's lock is taken (locks.volume_lock), so before anything
else any wrapper does with that volume, and at boot through mount.py, which
takes each volume's lock too. Two things can be left by a stopped run:

- a private mount (private_mounts.py): released;
- an intent record (records.INTENT): the mounts a wrapper was changing,
  and how they must end: "mounted" (mount.py, a rollback, an offline grow:
  the share comes back) or "unmounted" (umount.py, suspend.py: the volume
  goes down). A suspended volume always ends unmounted.

What is on the disk needs no record: every change to a volume's layout is
ordered so that each state in between is valid, and layout.complete()
finishes what a stopped run left there when the volume is next mounted or
changed. The intent lives in LOCK_DIR, which a reboot empties along with
the mounts it is about.
"""

import contextlib

from . import layout, mounts, paths, private_mounts, records, storage
from .errors import Refusal
from .storage import actions

MOUNTED = "mounted"
UNMOUNTED = "unmounted"


@contextlib.contextmanager
def intent(user: str, want: str):
    """Record how user's mounts must end if this block is stopped half-way
    (SIGKILL, a crash); on every other way out, the block's own cleanup has
    run and the record goes (a nested block puts the outer one's back)."""
    outer = records.read(records.INTENT, user)
    records.write(records.INTENT, user, want)
    try:
        yield
    finally:
        if outer is None:
            records.remove(records.INTENT, user)
        else:
            records.write(records.INTENT, user, outer)


def recover(user: str) -> None:
    """Release a leftover private mount and finish a recorded intent."""
    if private_mounts.leftover(user):
        private_mounts.release_leftover(user)
    want = records.read(records.INTENT, user)
    if want is None:
        return
    if records.suspended(user):
        want = UNMOUNTED
    store = storage.backend()
    volume = store.get(user)
    if volume is not None:
        if want == MOUNTED:
            _ensure_mounted(store, user, volume)
        else:
            actions.unmount_volume(store, user)
    records.remove(records.INTENT, user)


def _ensure_mounted(store, user, volume):
    mount_point = paths.mount_point(user)
    if actions.mount_state(volume, mount_point) is not None:
        return
    # The top level without its data (stopped between the two mounts):
    # taken down, then both mounted again the usual way.
    point = layout.top_mounted(user, volume.device)
    if point is not None:
        if not mounts.umount(point):
            raise Refusal(
                f"{user}'s volume was left half-mounted and its snapshots are in use;"
                " try again later"
            )
        layout.remove_top_point(point)
    actions.mount_volume(store, user)
