"""The admin page's inventory, taken once and reused for
STAFF_INVENTORY_MAX_AGE seconds by every process of the daemon.

Taking it costs two privileged calls, a statvfs per volume and a few queries
over every volume: about a second at 10,000 volumes, far too much for each
page view. It is kept in the "inventory" cache (settings.CACHES), which in
production is a directory of files: the preforking FastCGI daemon has
several processes, and a per-process cache would make each of them ask the
wrappers again. What is stored is plain data (JSON text, and a small dict of
numbers and strings), never objects.

Two entries: a small stamp (which inventory is current, when it was taken)
and the inventory itself under a name of its own. A process reads the stamp
on each view and decodes an inventory only when the stamp names one it has
not decoded yet; it keeps that one decoded in memory, which is safe
because an entry never changes once written (a new inventory gets a new
name).

An inventory is taken anew once it is older than the maximum age, when an
operation on a volume has finished since (the admin sees what the portal
just did), or when an admin asks. While one process takes it, the others
keep showing the last one (with the time it was taken) rather than all
calling the wrappers at once (the file cache's add() is not atomic, so
now and then two take one together, which costs time, not correctness).
"""

import json
import os
import time

from django.conf import settings
from django.core.cache import caches

from backup.operations.models import Operation

from . import fetching, selection

STAMP = "staff-inventory:stamp"
TAKING = "staff-inventory:taking"
# A process that died while taking one holds the others back no longer than this.
TAKING_SECONDS = 60

# This process's decoded copy of the current inventory: (name, Inventory).
_decoded: tuple[str, selection.Inventory] | None = None


def current(refresh: bool = False) -> selection.Inventory:
    """The inventory to show: the shared one while it is recent, else a new one.

    Raises PrivilegedError when a new one is needed and the wrappers fail.
    """
    store = caches["inventory"]
    version = _portal_version()
    stamp = store.get(STAMP)
    taking = False
    if stamp and stamp.get("version") == version and not refresh:
        age = time.time() - stamp["taken_at"]
        if age < settings.STAFF_INVENTORY_MAX_AGE or (
            age < settings.STAFF_INVENTORY_MAX_AGE + TAKING_SECONDS
            and not (taking := store.add(TAKING, os.getpid(), TAKING_SECONDS))
        ):
            inventory = _decode(store, stamp["name"])
            if inventory is not None:
                return inventory
    try:
        return _take(store, version, stamp)
    finally:
        if taking:
            store.delete(TAKING)


def _portal_version() -> int:
    """Changes whenever an operation finishes (a volume made, grown, deleted,
    a quota changed): one indexed look at the newest operations."""
    latest = (
        Operation.objects.filter(finished_at__isnull=False)
        .order_by("-id")
        .values_list("pk", flat=True)
        .first()
    )
    return latest or 0


def _take(store, version: int, stamp: dict | None) -> selection.Inventory:
    global _decoded
    taken_at = time.time()
    pool, rows = fetching.pool_and_volume_rows()
    inventory = selection.Inventory.of(taken_at, pool, rows)
    name = f"staff-inventory:{taken_at:.6f}:{os.getpid()}"
    # Kept well beyond the maximum age: a process that read the stamp just
    # before it changed still finds the inventory it names.
    keep = max(60, 6 * settings.STAFF_INVENTORY_MAX_AGE)
    store.set(name, json.dumps(inventory.to_json(), separators=(",", ":")), keep)
    previous = stamp.get("name") if stamp else None
    # The stamp never expires: through it each inventory is deleted two
    # inventories later, even one that expired while nobody looked.
    store.set(
        STAMP,
        {"name": name, "taken_at": taken_at, "version": version, "previous": previous},
        None,
    )
    if stamp and stamp.get("previous"):
        # The one before the last: no process can still be reading it.
        store.delete(stamp["previous"])
    _decoded = (name, inventory)
    return inventory


def _decode(store, name: str) -> selection.Inventory | None:
    global _decoded
    if _decoded is not None and _decoded[0] == name:
        return _decoded[1]
    text = store.get(name)
    if text is None:
        return None
    inventory = selection.Inventory.from_json(json.loads(text))
    _decoded = (name, inventory)
    return inventory
