"""Graphs as PNG (rendered in memory) and the page of one volume's graphs.

An employee may see their own volume's graphs; admins see every volume's,
the server's disk activity and the pool's. Another person's volume is a 404, whether or
not it exists. Images carry caching headers: a graph changes when its RRD
is updated or when a minute passes (the end of its time axis).
"""

import hashlib
import logging
import time

import rrdtool
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date

from backup.sso.decorators import staff_required
from backup.volumes.models import Volume

from . import graphs, rrd

logger = logging.getLogger("backup.stats")

# The time axis moves on by the minute: a browser may keep an image that long.
GRAPH_MAX_AGE = 60

VOLUME_GRAPHS = {"space": graphs.space, "io": graphs.volume_activity}
SERVER_GRAPHS = {"io": graphs.server_activity, "wait": graphs.server_wait}


def may_see_volume(user, account):
    if user.is_staff:
        return True
    return Volume.objects.filter(owner=user, account=account).exists()


def _volume_account(request, account):
    if not rrd.ACCOUNT_PATTERN.fullmatch(account) or not may_see_volume(request.user, account):
        raise Http404("No such volume.")
    return account


def _png(request, graph, period):
    if period not in graphs.PERIODS:
        raise Http404("No such period.")
    size = request.GET.get("size", graphs.DEFAULT_SIZE)
    if size not in graphs.SIZES:
        raise Http404("No such size.")
    try:
        changed = [path.stat().st_mtime_ns for path in graph.files]
    except FileNotFoundError:
        raise Http404("No history has been recorded yet.") from None
    end = int(time.time()) // rrd.MINUTE * rrd.MINUTE
    version = f"{graph.title}|{period}|{size}|{graph.since}|{end}|{changed}"
    etag = f'"{hashlib.sha256(version.encode()).hexdigest()[:32]}"'
    last_modified = max(max(changed) // 10**9, end)
    response = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if response is None:
        try:
            image = graphs.render(graph, period, end, size)
        except rrdtool.OperationalError as error:
            logger.error("could not draw %s (%s): %s", graph.title, period, error)
            return HttpResponse(
                "The graph could not be drawn.", status=503, content_type="text/plain"
            )
        response = HttpResponse(image, content_type="image/png")
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified)
    patch_cache_control(response, private=True, max_age=GRAPH_MAX_AGE)
    return response


def _since(account):
    """When the volume now named ``account`` was created: the history of an
    earlier volume of that name is not its own (None: no volume now)."""
    created = Volume.objects.filter(account=account).values_list("created_at", flat=True).first()
    return int(created.timestamp()) if created is not None else None


def volume_graph(request, account, graph, period):
    if graph not in VOLUME_GRAPHS:
        raise Http404("No such graph.")
    account = _volume_account(request, account)
    return _png(request, VOLUME_GRAPHS[graph](account, since=_since(account)), period)


@staff_required
def server_graph(request, graph, period):
    if graph not in SERVER_GRAPHS:
        raise Http404("No such graph.")
    return _png(request, SERVER_GRAPHS[graph](), period)


@staff_required
def pool_graph(request, period):
    return _png(request, graphs.pool(), period)


def volume_page(request, account):
    account = _volume_account(request, account)
    return render(
        request,
        "stats/volume.html",
        {
            "account": account,
            "own": Volume.objects.filter(owner=request.user, account=account).exists(),
            "periods": list(graphs.PERIOD_LABELS.items()),
            "has_space": rrd.space_file(account).exists(),
            "has_io": rrd.io_file(account).exists(),
        },
    )


@staff_required
def volume_lookup(request):
    """The admin page's "graphs of a volume" form lands here."""
    account = request.GET.get("account", "").strip()
    if not rrd.ACCOUNT_PATTERN.fullmatch(account):
        raise Http404("No such volume.")
    return redirect("stats:volume", account)
