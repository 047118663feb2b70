"""When will the pool, or a volume, be full? A straight line fitted (least
squares) to the recent use, extended to the size."""

import time
from dataclasses import dataclass

import rrdtool
from django.conf import settings

from . import rrd

# Less than this and the slope says more about noise than about growth.
MINIMUM_HISTORY_SECONDS = 3600


@dataclass(frozen=True)
class Projection:
    enough_history: bool
    growth_per_day: float | None = None  # bytes
    days_left: float | None = None  # None: not growing
    full: bool = False

    @property
    def warn(self):
        if self.full:
            return True
        return self.days_left is not None and self.days_left < settings.POOL_FULL_WARNING_DAYS

    @property
    def rounded_days(self):
        return round(self.days_left) if self.days_left is not None else None


def slope(points):
    """Least-squares slope of [(t, value)], per second."""
    count = len(points)
    mean_t = sum(t for t, _ in points) / count
    mean_v = sum(v for _, v in points) / count
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return 0.0
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / spread


def project(points, size, used=None, minimum_seconds=MINIMUM_HISTORY_SECONDS):
    """Projection from history ``points`` [(t, used bytes)] to ``size``;
    ``used`` is the use now (default: the last point)."""
    points = sorted(points)
    if len(points) < 2 or points[-1][0] - points[0][0] < minimum_seconds:
        return Projection(enough_history=False)
    current = points[-1][1] if used is None else used
    if current >= size:
        return Projection(enough_history=True, full=True, days_left=0.0)
    per_second = slope(points)
    if per_second <= 0:
        return Projection(enough_history=True, growth_per_day=per_second * rrd.DAY)
    return Projection(
        enough_history=True,
        growth_per_day=per_second * rrd.DAY,
        days_left=(size - current) / per_second / rrd.DAY,
    )


def pool_projection(size=None, used=None, now=None):
    """The projection from the pool's RRD over POOL_GROWTH_WINDOW_DAYS; the
    pool's size and use now come from the caller when it has them fresh."""
    end = int(now if now is not None else time.time())
    start = end - int(settings.POOL_GROWTH_WINDOW_DAYS * rrd.DAY)
    try:
        times, values = rrd.fetch(rrd.pool_file(), start, end)
    except rrdtool.OperationalError:
        return Projection(enough_history=False)
    points = [(t, v) for t, v in zip(times, values["used"], strict=True) if v is not None]
    if size is None:
        sizes = [v for v in values["size"] if v is not None]
        if not sizes:
            return Projection(enough_history=False)
        size = sizes[-1]
    return project(points, size, used)


# A volume: its owner is told only when it is growing and will be full
# within VOLUME_FULL_HORIZON_DAYS at the rate of the last VOLUME_GROWTH_WINDOW_DAYS,
# measured over at least a day (backups come in bursts: an hour says little).
VOLUME_GROWTH_WINDOW_DAYS = 14
VOLUME_MINIMUM_HISTORY_SECONDS = rrd.DAY
VOLUME_FULL_HORIZON_DAYS = 90


def volume_full_soon(account: str, size: int, used: int, since: float | None = None,
                     now: float | None = None) -> Projection | None:  # fmt: skip
    """The projection of the volume ``account`` (``size`` and ``used`` bytes
    now) when it says something worth telling its owner, else None. History
    before ``since`` (the volume's creation) belongs to an earlier volume."""
    end = int(now if now is not None else time.time())
    start = end - VOLUME_GROWTH_WINDOW_DAYS * rrd.DAY
    if since is not None:
        start = max(start, int(since))
    if start >= end:
        return None
    try:
        times, values = rrd.fetch(rrd.space_file(account), start, end)
    except (rrdtool.OperationalError, ValueError):
        return None
    points = [(t, v) for t, v in zip(times, values["used"], strict=True) if v is not None]
    result = project(points, size, used, minimum_seconds=VOLUME_MINIMUM_HISTORY_SECONDS)
    if result.full or result.days_left is None or result.days_left >= VOLUME_FULL_HORIZON_DAYS:
        return None  # full already shows as 100%; not growing or far off: nothing to say
    return result
