"""What each graph draws: rrdtool graph arguments for a kind of graph over
a period. Paths come from backup.stats.rrd (account names checked there);
labels are fixed text, so nothing a user sends reaches rrdtool."""

from dataclasses import dataclass

from . import rrd

PERIODS = {
    "hour": ("Hour", 3600),
    "day": ("Day", rrd.DAY),
    "week": ("Week", 7 * rrd.DAY),
    "month": ("Month", 31 * rrd.DAY),
    "year": ("Year", 366 * rrd.DAY),
}

WIDTH = 560
HEIGHT = 150
BLUE, GREEN, ORANGE, RED = "#4E79A7", "#59A14F", "#F28E2B", "#E15759"


def _def(name, path, source, function="AVERAGE"):
    # A colon separates the fields of a definition: escape any in the path.
    escaped = str(path).replace(":", "\\:")
    return f"DEF:{name}={escaped}:{source}:{function}"


@dataclass(frozen=True)
class Graph:
    title: str
    files: tuple  # the RRDs it reads: caching headers follow their changes
    elements: tuple
    options: tuple = ()


def space(account):
    path = rrd.space_file(account)
    return Graph(
        title=f"Space on volume {account}",
        files=(path,),
        options=("--base", "1024", "--vertical-label", "bytes", "--lower-limit", "0"),
        elements=(
            _def("used", path, "used"),
            _def("size", path, "size"),
            f"AREA:used{BLUE}:Used",
            "GPRINT:used:LAST:%.1lf %sB now",
            f"LINE2:size{RED}:Volume size",
            "GPRINT:size:LAST:%.1lf %sB\\l",
        ),
    )


def _activity(path, title):
    return Graph(
        title=title,
        files=(path,),
        options=("--base", "1024", "--vertical-label", "bytes/s", "--lower-limit", "0"),
        elements=(
            _def("read", path, "read"),
            _def("written", path, "written"),
            _def("readmax", path, "read", "MAX"),
            _def("writtenmax", path, "written", "MAX"),
            f"AREA:read{GREEN}80:Read",
            f"LINE1:read{GREEN}",
            "GPRINT:read:AVERAGE:average %.1lf %sB/s",
            "GPRINT:readmax:MAX:peak %.1lf %sB/s\\l",
            f"LINE2:written{BLUE}:Written",
            "GPRINT:written:AVERAGE:average %.1lf %sB/s",
            "GPRINT:writtenmax:MAX:peak %.1lf %sB/s\\l",
        ),
    )


def volume_activity(account):
    return _activity(rrd.io_file(account), f"Disk activity of volume {account}")


def server_activity():
    return _activity(rrd.server_io_file(), "Server disks: read and written")


def server_wait():
    path = rrd.server_io_file()
    return Graph(
        title="Server disks: IO wait",
        files=(path,),
        options=("--vertical-label", "requests", "--lower-limit", "0"),
        elements=(
            _def("queue", path, "queue_ms"),
            _def("inflight", path, "inflight"),
            _def("ios", path, "ios"),
            _def("io_ms", path, "io_ms"),
            # The weighted time in queue grows by one millisecond per
            # millisecond per waiting request: per second / 1000 = depth.
            "CDEF:depth=queue,1000,/",
            "CDEF:wait=ios,0,GT,io_ms,ios,/,UNKN,IF",
            "VDEF:averagewait=wait,AVERAGE",
            f"AREA:depth{ORANGE}:Requests waiting or in service (average)\\l",
            f"LINE1:inflight{RED}:Requests in flight (sampled each minute)\\l",
            "GPRINT:averagewait:Average wait per request %.1lf ms\\l",
        ),
    )


def pool():
    path = rrd.pool_file()
    return Graph(
        title="Backup pool",
        files=(path,),
        options=("--base", "1024", "--vertical-label", "bytes", "--lower-limit", "0"),
        elements=(
            _def("size", path, "size"),
            _def("allocated", path, "allocated"),
            _def("used", path, "used"),
            f"AREA:used{BLUE}:Written to volumes",
            "GPRINT:used:LAST:%.1lf %sB\\l",
            f"LINE2:allocated{ORANGE}:Allocated to volumes",
            "GPRINT:allocated:LAST:%.1lf %sB\\l",
            f"LINE2:size{RED}:Pool size",
            "GPRINT:size:LAST:%.1lf %sB\\l",
        ),
    )


def render(graph, period, end):
    """PNG bytes of ``graph`` over ``period`` ending at ``end`` (a timestamp)."""
    label, seconds = PERIODS[period]
    args = [
        "--start", str(end - seconds), "--end", str(end),
        "--width", str(WIDTH), "--height", str(HEIGHT),
        "--title", f"{graph.title} (last {label.lower()})",
        "--slope-mode", "--border", "0", "--disable-rrdtool-tag",
        *graph.options,
        *graph.elements,
    ]  # fmt: skip
    return rrd.graph(args)
