"""Round-robin databases: their layouts, where they live, and create /
update / fetch / graph done in-process through the rrdtool bindings (the
original forked an rrdtool process per file).

Every file is updated through ``record()``, which recreates a missing or
corrupt file instead of failing, so one bad file never stops the others.
"""

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import rrdtool
from django.conf import settings

logger = logging.getLogger("backup.stats")

# Volumes are named after backup accounts (the wrappers' USER rule); a name
# that doesn't match never becomes a path or a part of an rrdtool argument.
ACCOUNT_PATTERN = re.compile(r"[a-z][a-z0-9._-]{0,31}")

MINUTE = 60
DAY = 24 * 60 * MINUTE


@dataclass(frozen=True)
class Layout:
    """Data sources and archives of one kind of RRD.

    Every kind has a one-minute step: the IO collector runs every minute,
    and the space collector's five-minute updates fill the minutes in
    between (its heartbeat is ten minutes), so the demo, which collects
    more often, shows fine detail too.
    """

    sources: tuple  # (name, type, heartbeat seconds)
    consolidations: tuple = ("AVERAGE",)
    step: int = MINUTE

    # (minutes per row, rows): a day at one minute (the hour and day
    # views), 16 days at 30 minutes (week), 66 days at 2 hours (month) and
    # 2.2 years at a day (year): each view gets 400 to 1,500 points.
    archives = ((1, 1500), (30, 800), (120, 800), (1440, 800))

    @property
    def names(self):
        return tuple(name for name, _, _ in self.sources)

    def definition(self):
        sources = [f"DS:{name}:{kind}:{heartbeat}:0:U" for name, kind, heartbeat in self.sources]
        archives = [
            f"RRA:{function}:0.5:{steps}:{rows}"
            for function in self.consolidations
            for steps, rows in self.archives
        ]
        return [*sources, *archives]


# Per volume, every five minutes (update_df_stats): bytes and inodes used,
# and the volume's size, drawn as a line above the usage.
SPACE = Layout(sources=(("used", "GAUGE", 600), ("inodes", "GAUGE", 600), ("size", "GAUGE", 600)))

# The pool, every five minutes: what the admin page graphs and projects.
POOL = Layout(
    sources=(
        ("size", "GAUGE", 600),
        ("allocated", "GAUGE", 600),
        ("used", "GAUGE", 600),
        ("free", "GAUGE", 600),
    )
)

# Disk activity every minute (rrd_waittime), for the server and per volume,
# from /proc/diskstats counters (DERIVE, never negative: a counter that
# restarts, e.g. a re-attached loop device, gives a gap, not a spike).
# MAX keeps short bursts visible in the week, month and year views.
IO = Layout(
    sources=(
        ("read", "DERIVE", 120),  # bytes read
        ("written", "DERIVE", 120),  # bytes written
        ("ios", "DERIVE", 120),  # reads and writes completed
        ("io_ms", "DERIVE", 120),  # milliseconds those requests took
        ("queue_ms", "DERIVE", 120),  # weighted time in queue: ms/s is queue depth x 1000
        ("inflight", "GAUGE", 120),  # requests in flight when sampled
    ),
    consolidations=("AVERAGE", "MAX"),
)

# librrd is not thread-safe: concurrent graphs corrupt its heap (threaded
# web servers render several images of one page at once). Every call into
# it goes through _locked.
_lock = threading.Lock()


def _locked(function, *args):
    with _lock:
        return function(*args)


# The outcomes of record().
UPDATED = "updated"
CREATED = "created"
RECREATED = "recreated"


class RecordError(Exception):
    """An update failed on a valid file (e.g. a time not after the last)."""


def directory() -> Path:
    return Path(settings.RRD_DIRECTORY)


def space_file(account):
    return directory() / "volumes" / f"{_checked(account)}.rrd"


def io_file(account):
    return directory() / "io" / f"{_checked(account)}.rrd"


def pool_file() -> Path:
    return directory() / "pool.rrd"


def server_io_file():
    return directory() / "server-io.rrd"


def _checked(account):
    if not ACCOUNT_PATTERN.fullmatch(account):
        raise ValueError(f"not an account name: {account!r}")
    return account


def create(path, layout, timestamp):
    """A new, empty RRD whose first update may be at ``timestamp``."""
    path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
    args = ["--step", str(layout.step), "--start", str(timestamp - 10)]
    _locked(rrdtool.create, str(path), *args, *layout.definition())


def fits(path, layout):
    """True when path is a readable RRD with this layout's step and sources."""
    try:
        info = _locked(rrdtool.info, str(path))
    except rrdtool.OperationalError:
        return False
    names = {key[3:].split("]", 1)[0] for key in info if key.startswith("ds[")}
    return info.get("step") == layout.step and names == set(layout.names)


def _update(path, layout, timestamp, values):
    data = ":".join(_text(values.get(name)) for name in layout.names)
    template = ":".join(layout.names)
    _locked(rrdtool.update, str(path), "--template", template, f"{timestamp}:{data}")


def _text(value):
    if value is None:
        return "U"
    return str(int(value)) if isinstance(value, int) else repr(float(value))


def record(path, layout, timestamp, values):
    """Store ``values`` (name -> number or None) at ``timestamp``.

    Returns UPDATED, CREATED (the file was missing) or RECREATED (it was
    unreadable or had another layout: kept as ``*.corrupt`` for a look,
    replaced by a new one). Raises RecordError when a valid file refuses
    the update.
    """
    try:
        _update(path, layout, timestamp, values)
        return UPDATED
    except rrdtool.OperationalError as error:
        if not path.exists():
            outcome = CREATED
        elif fits(path, layout):
            raise RecordError(f"{path}: {error}") from None
        else:
            path.replace(path.with_name(path.name + ".corrupt"))
            logger.warning("%s was unreadable (%s); recreated it", path, error)
            outcome = RECREATED
    try:
        create(path, layout, timestamp)
        _update(path, layout, timestamp, values)
    except (OSError, rrdtool.OperationalError) as error:
        raise RecordError(f"{path}: {error}") from None
    return outcome


def last_update(path) -> tuple[float, dict]:
    """(when, {source: value or None}) of the most recent update, as written
    (not yet consolidated: a figure recorded a minute ago is there)."""
    answer = _locked(rrdtool.lastupdate, str(path))
    return answer["date"].timestamp(), answer["ds"]


def fetch(path, start, end, function="AVERAGE", resolution=None):
    """(timestamps, {source: [value or None]}) between start and end; rrdtool
    picks the finest archive that covers the range (at least ``resolution``
    seconds a row, as a graph of that many seconds a pixel would)."""
    extra = ("--resolution", str(int(resolution))) if resolution else ()
    (first, _, step), names, rows = _locked(
        rrdtool.fetch, str(path), function, "--start", str(start), "--end", str(end), *extra
    )
    # rrdtool labels each row with the end of the interval it averages.
    times = [first + step * (index + 1) for index in range(len(rows))]
    return times, {name: [row[i] for row in rows] for i, name in enumerate(names)}


def graph(args):
    """A PNG, rendered in memory."""
    return graph_info(args)["image"]


def graph_info(args):
    """rrdtool graphv's answer: the PNG ("image") and what was drawn where."""
    return _locked(rrdtool.graphv, "-", "--imgformat", "PNG", *args)
