"""Template tags for the graph includes of the dashboard and the admin page,
so that those pages' views need not know about graphs."""

from collections.abc import Callable
from pathlib import Path

from django import template
from django.conf import settings
from django.http import QueryDict

from backup.stats import graphs, projection, rrd

register = template.Library()

# Each takes the account, or nothing for the server-wide files.
HISTORY_FILES: dict[str, Callable[..., Path]] = {
    "space": rrd.space_file,
    "io": rrd.io_file,
    "server": rrd.server_io_file,
    "pool": rrd.pool_file,
}


def _period(request):
    chosen = request.GET.get("period") if request is not None else None
    return chosen if chosen in graphs.PERIODS else settings.GRAPH_DEFAULT_PERIOD


@register.simple_tag(takes_context=True)
def graph_period(context):
    """The period picked with ?period=, else GRAPH_DEFAULT_PERIOD."""
    return _period(context.get("request"))


@register.simple_tag(takes_context=True)
def graph_period_words(context):
    """The picked period as words for a sentence ("day", "päivä"), not its key:
    the images' alt texts read "over the last day" in the reader's language."""
    return str(graphs.PERIOD_LABELS[_period(context.get("request"))]).lower()


@register.inclusion_tag("stats/_periods.html", takes_context=True)
def period_links(context, anchor):
    """Links that switch every graph of the page to another period, keeping
    the page's other query parameters (the admin table's sort order)."""
    request = context.get("request")
    chosen = _period(request)
    links = []
    for key, label in graphs.PERIOD_LABELS.items():
        query = request.GET.copy() if request is not None else QueryDict(mutable=True)
        query["period"] = key
        links.append((label, f"?{query.urlencode()}#{anchor}", key == chosen))
    return {"links": links, "anchor": anchor}


@register.simple_tag
def has_history(kind, account=None):
    """True when the RRD behind a graph exists (a graph without one is a 404)."""
    try:
        path = HISTORY_FILES[kind](account) if account else HISTORY_FILES[kind]()
    except ValueError:
        return False
    return path.exists()


@register.simple_tag
def pool_projection(pool=None):
    """When the pool will be full at its recent growth; ``pool`` (the admin
    page's) gives today's size and use."""
    if pool is None:
        return projection.pool_projection()
    return projection.pool_projection(size=pool.size_bytes, used=pool.used_bytes)


@register.simple_tag
def volume_full_soon(volume, usage):
    """The dashboard's "full in about N days", or None (see projection)."""
    if usage is None:
        return None
    return projection.volume_full_soon(
        volume.account,
        size=usage.total_bytes,
        used=usage.used_bytes,
        since=volume.created_at.timestamp() if volume.created_at else None,
    )
