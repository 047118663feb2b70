"""What each graph draws: rrdtool graph arguments for a kind of graph over
a period. Paths come from backup.stats.rrd (account names checked there);
labels are fixed text, so nothing a user sends reaches rrdtool.

Sizes are in binary units, like every page: the axis of a graph of bytes is
in one unit chosen for its largest value (GiB, MiB…), and each legend
figure in the unit that suits it ("24.0 KiB now" beside a 4 GiB volume).
A series without data in the period says "no data yet" instead of rrdtool's
"nan"; a volume's graphs start at the volume's creation, so a volume
deleted and created again does not show its predecessor's history.
"""

import math
from dataclasses import dataclass
from pathlib import Path

import rrdtool
from django.utils.translation import pgettext_lazy

from . import rrd

PERIODS = {
    "hour": ("Hour", 3600),
    "day": ("Day", rrd.DAY),
    "week": ("Week", 7 * rrd.DAY),
    "month": ("Month", 31 * rrd.DAY),
    "year": ("Year", 366 * rrd.DAY),
}
# The periods' names on the pages (the images' own text stays English).
PERIOD_LABELS = {
    "hour": pgettext_lazy("graph period", "Hour"),
    "day": pgettext_lazy("graph period", "Day"),
    "week": pgettext_lazy("graph period", "Week"),
    "month": pgettext_lazy("graph period", "Month"),
    "year": pgettext_lazy("graph period", "Year"),
}


@dataclass(frozen=True)
class Size:
    width: int
    height: int
    font_points: int  # rrdtool draws at 100 dpi: 8 points are about 11 pixels
    short_title: bool = False


# "wide" for a desktop's column; "phone" drawn narrow with larger text, so
# that on a 375 px screen it is shown at (nearly) its own size, readable.
SIZES = {
    "wide": Size(width=560, height=150, font_points=8),
    "phone": Size(width=230, height=120, font_points=9, short_title=True),
}
DEFAULT_SIZE = "wide"
DPI = 100

BLUE, GREEN, ORANGE, RED = "#4E79A7", "#59A14F", "#F28E2B", "#E15759"
NO_DATA = "no data yet"
BINARY_UNITS = ((1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB"))


@dataclass(frozen=True)
class Series:
    """One line of data: vname ``name`` from ``source`` of the RRD at ``path``."""

    name: str
    path: Path
    source: str
    function: str = "AVERAGE"


@dataclass(frozen=True)
class Legend:
    """Figures in the legend that need data from ``needs`` (series names):
    ``prints`` when there is some in the period, else "no data yet".
    In a print, vname ``name_v`` is series ``name`` scaled to the unit of its
    peak, written ``{name.v}``; ``name_l`` and ``{name.l}`` to the unit of its
    last value (for LAST)."""

    needs: tuple
    prints: tuple


@dataclass(frozen=True)
class Graph:
    title: str
    short_title: str  # on a phone, where the page's headings say whose it is
    files: tuple  # the RRDs it reads: caching headers follow their changes
    series: tuple
    elements: tuple  # rrdtool graph elements (strings) and Legends
    options: tuple = ()
    # "B" or "B/s": scaled to binary units; None: plain numbers.
    unit: str | None = None
    # No data before this time (a volume's creation) is drawn.
    since: int | None = None


def _escape(path):
    # A colon separates the fields of a definition: escape any in the path.
    return str(path).replace(":", "\\:")


def space(account, since=None):
    path = rrd.space_file(account)
    return Graph(
        title=f"Space on volume {account}",
        short_title="Space",
        files=(path,),
        series=(Series("used", path, "used"), Series("size", path, "size")),
        unit="B",
        since=since,
        options=("--lower-limit", "0"),
        elements=(
            f"AREA:used{BLUE}:Used",
            Legend(("used",), ("GPRINT:used_l:LAST:%.1lf {used.l} now",)),
            f"LINE2:size{RED}:Volume size",
            Legend(("size",), ("GPRINT:size_l:LAST:%.1lf {size.l}",)),
            "COMMENT:\\l",
        ),
    )


def _activity(path, title, since=None):
    return Graph(
        title=title,
        short_title="Disk activity",
        files=(path,),
        series=(
            Series("read", path, "read"),
            Series("written", path, "written"),
            Series("readmax", path, "read", "MAX"),
            Series("writtenmax", path, "written", "MAX"),
        ),
        unit="B/s",
        since=since,
        options=("--lower-limit", "0"),
        elements=(
            f"AREA:read{GREEN}80:Read",
            f"LINE1:read{GREEN}",
            Legend(
                ("read",),
                (
                    "GPRINT:read_v:AVERAGE:average %.1lf {read.v}",
                    "GPRINT:readmax_v:MAX:peak %.1lf {readmax.v}",
                ),
            ),
            "COMMENT:\\l",
            f"LINE2:written{BLUE}:Written",
            Legend(
                ("written",),
                (
                    "GPRINT:written_v:AVERAGE:average %.1lf {written.v}",
                    "GPRINT:writtenmax_v:MAX:peak %.1lf {writtenmax.v}",
                ),
            ),
            "COMMENT:\\l",
        ),
    )


def volume_activity(account, since=None):
    return _activity(rrd.io_file(account), f"Disk activity of volume {account}", since)


def server_activity():
    return _activity(rrd.server_io_file(), "Server disks: read and written")


def server_wait():
    path = rrd.server_io_file()
    return Graph(
        title="Server disks: IO wait",
        short_title="Server IO wait",
        files=(path,),
        series=(
            Series("queue", path, "queue_ms"),
            Series("inflight", path, "inflight"),
            Series("ios", path, "ios"),
            Series("io_ms", path, "io_ms"),
        ),
        options=("--vertical-label", "requests", "--lower-limit", "0"),
        elements=(
            # The weighted time in queue grows by one millisecond per
            # millisecond per waiting request: per second / 1000 = depth.
            "CDEF:depth=queue,1000,/",
            "CDEF:wait=ios,0,GT,io_ms,ios,/,UNKN,IF",
            "VDEF:averagewait=wait,AVERAGE",
            f"AREA:depth{ORANGE}:Requests waiting or in service (average)\\l",
            f"LINE1:inflight{RED}:Requests in flight (sampled each minute)\\l",
            "COMMENT:Average wait per request",
            Legend(("ios",), ("GPRINT:averagewait:%.1lf ms",)),
            "COMMENT:\\l",
        ),
    )


def pool():
    path = rrd.pool_file()
    return Graph(
        title="Backup pool",
        short_title="Backup pool",
        files=(path,),
        series=(
            Series("size", path, "size"),
            Series("allocated", path, "allocated"),
            Series("used", path, "used"),
        ),
        unit="B",
        options=("--lower-limit", "0"),
        elements=(
            f"AREA:used{BLUE}:Written to volumes",
            Legend(("used",), ("GPRINT:used_l:LAST:%.1lf {used.l}",)),
            "COMMENT:\\l",
            f"LINE2:allocated{ORANGE}:Allocated to volumes",
            Legend(("allocated",), ("GPRINT:allocated_l:LAST:%.1lf {allocated.l}",)),
            "COMMENT:\\l",
            f"LINE2:size{RED}:Pool size",
            Legend(("size",), ("GPRINT:size_l:LAST:%.1lf {size.l}",)),
            "COMMENT:\\l",
        ),
    )


def binary_unit(peak):
    """(factor, name) of the binary unit for values up to ``peak`` bytes."""
    for factor, name in BINARY_UNITS:
        if peak is not None and peak >= factor:
            return factor, name
    return 1, "B"


@dataclass(frozen=True)
class Figures:
    peak: float
    last: float


def _peaks(graph, start, end, resolution):
    """{series name: its Figures from start to end, or None without data},
    read from the archive the graph draws from."""
    fetched = {}
    peaks = {}
    for series in graph.series:
        key = (series.path, series.function)
        if key not in fetched:
            try:
                fetched[key] = rrd.fetch(series.path, start, end, series.function, resolution)[1]
            except rrdtool.OperationalError:  # drawing reports the file's trouble
                fetched[key] = {}
        values = [v for v in fetched[key].get(series.source, ()) if v is not None]
        values = [v for v in values if not math.isnan(v)]
        peaks[series.name] = Figures(max(values), values[-1]) if values else None
    return peaks


def shown_peaks(graph, period, end, size=DEFAULT_SIZE):
    """{series name: Figures of what is drawn, or None}: from the volume's
    creation (graph.since) on, at the resolution of the graph's archive."""
    seconds = PERIODS[period][1]
    start = end - seconds
    visible = max(start, graph.since or start)
    if visible >= end:
        return {}
    return _peaks(graph, visible, end, max(1, seconds // SIZES[size].width))


def arguments(graph, period, end, size=DEFAULT_SIZE):
    """The rrdtool graph arguments of ``graph`` over ``period`` ending at ``end``."""
    label, seconds = PERIODS[period]
    dimensions = SIZES[size]
    start = end - seconds
    peaks = shown_peaks(graph, period, end, size)
    axis_factor, axis_unit = 1, None
    if graph.unit is not None:
        known = [peak for peak in peaks.values() if peak is not None]
        axis_factor, name = binary_unit(max(f.peak for f in known) if known else None)
        axis_unit = name + graph.unit[1:]  # "GiB" + "/s"
    units = {}
    definitions = []
    for series in graph.series:
        raw = f"DEF:{series.name}_raw={_escape(series.path)}:{series.source}:{series.function}"
        value = f"{series.name}_raw"
        if graph.since is not None:
            value = f"TIME,{int(graph.since)},LT,UNKN,{value},IF"
        definitions += [raw, f"CDEF:{series.name}={value},{axis_factor},/"]
        figures = peaks.get(series.name)
        for suffix, figure in (("v", "peak"), ("l", "last")):
            factor, name = 1, ""
            if graph.unit is not None:
                factor, name = binary_unit(getattr(figures, figure, None))
                name += graph.unit[1:]
            units[f"{series.name}.{suffix}"] = name
            definitions.append(f"CDEF:{series.name}_{suffix}={value},{factor},/")
    elements = []
    for element in graph.elements:
        if isinstance(element, Legend):
            if all(peaks.get(name) is not None for name in element.needs):
                for text in element.prints:
                    for name, unit in units.items():
                        text = text.replace(f"{{{name}}}", unit)
                    elements.append(text)
            else:
                elements.append(f"COMMENT:{NO_DATA}")
        else:
            elements.append(element)
    title = graph.short_title if dimensions.short_title else graph.title
    options = list(graph.options)
    if axis_unit is not None:
        options += ["--vertical-label", axis_unit]
    return [
        "--start", str(start), "--end", str(end),
        "--width", str(dimensions.width), "--height", str(dimensions.height),
        "--font", f"DEFAULT:{dimensions.font_points}",
        "--title", f"{title} (last {label.lower()})",
        "--slope-mode", "--border", "0", "--disable-rrdtool-tag",
        # Plain numbers on the axis: no "500 m" for half a request.
        "--units-exponent", "0",
        *options,
        *definitions,
        *elements,
    ]  # fmt: skip


def render(graph, period, end, size=DEFAULT_SIZE):
    """PNG bytes of ``graph`` over ``period`` ending at ``end`` (a timestamp)."""
    return rrd.graph(arguments(graph, period, end, size))


def legends(graph, period, end, size=DEFAULT_SIZE):
    """The legend texts rrdtool drew (graphv's legend[n]), for tests and checks."""
    info = rrd.graph_info(arguments(graph, period, end, size))
    numbered = [(int(key[7:-1]), value) for key, value in info.items() if key.startswith("legend[")]
    return [value for _, value in sorted(numbered)]
