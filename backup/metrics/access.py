"""Who may scrape /metrics: an address in METRICS_ALLOWED_NETWORKS, or a
request carrying METRICS_TOKEN as a bearer token.

The figures name every account and how its owner backs up, so nobody else
may read them, and a refusal says nothing about why.
"""

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest

BEARER = "bearer "


def networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The configured networks. checks.py refuses a value that is not one at
    start; one that slipped through admits nobody rather than failing."""
    found = []
    for value in settings.METRICS_ALLOWED_NETWORKS:
        try:
            found.append(ipaddress.ip_network(value))
        except (TypeError, ValueError):
            continue
    return found


def from_allowed_address(request: HttpRequest) -> bool:
    # REMOTE_ADDR comes from the web server (the FastCGI environment), not
    # from a header the client chose, such as X-Forwarded-For.
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks())


def has_token(request: HttpRequest) -> bool:
    expected = settings.METRICS_TOKEN
    if not expected:
        return False
    header = request.headers.get("Authorization", "")
    if header[: len(BEARER)].lower() != BEARER:
        return False
    offered = header[len(BEARER) :].strip()
    # Constant time, so that the answer's timing doesn't tell how much of a
    # guess was right; bytes, because compare_digest refuses non-ASCII str.
    return hmac.compare_digest(offered.encode(), expected.encode())


def allowed(request: HttpRequest) -> bool:
    return from_allowed_address(request) or has_token(request)
