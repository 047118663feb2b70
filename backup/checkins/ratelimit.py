"""Rate limits for check-ins, per token and per client address, counted in
fixed one-minute windows in the "checkins" cache (settings.CACHES): a file
cache shared by every process of the preforking daemon, bounded in entries.

Counting is approximate: the file cache's increment is a read and a write,
so two processes at the same instant may count one. A limit is a guard
against floods, not an exact quota.
"""

import time

from django.conf import settings
from django.core.cache import caches

WINDOW_SECONDS = 60


def _count(key: str) -> int:
    store = caches["checkins"]
    window = int(time.time() // WINDOW_SECONDS)
    key = f"checkins:{key}:{window}"
    # The window's entry lives two windows at most, whatever happens to it.
    if store.add(key, 1, timeout=2 * WINDOW_SECONDS):
        return 1
    try:
        return store.incr(key)
    except ValueError:  # expired or culled between add and incr
        store.set(key, 1, timeout=2 * WINDOW_SECONDS)
        return 1


def allowed(token_hash: str, address: str) -> bool:
    """Counts this check-in; False when its address or its token has used
    up the minute. Keyed by the hash (never the token) so the cache, on disk,
    holds nothing that checks in."""
    if _count(f"address:{address}") > settings.CHECKIN_RATE_PER_ADDRESS:
        return False
    return _count(f"token:{token_hash}") <= settings.CHECKIN_RATE_PER_TOKEN
