"""When will the pool be full? A straight line fitted (least squares) to the
pool's recent use, extended to the pool's size."""

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


def project(points, size, used=None):
    """Projection from history ``points`` [(t, used bytes)] to ``size``;
    ``used`` is the use now (default: the last point)."""
    points = sorted(points)
    if len(points) < 2 or points[-1][0] - points[0][0] < MINIMUM_HISTORY_SECONDS:
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
