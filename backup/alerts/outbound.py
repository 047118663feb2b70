"""One outbound HTTP request for an alert channel, made so that an address an
employee typed can't turn the server against its own network.

Why not Apprise (used until issue 19): its JSON/form plugins take the
request's method, extra headers and body fields from the URL (``?method=``,
``+Header=``, ``:field=``), and it sends through ``requests``, which resolves
the name again at connect time, follows redirects to anywhere and honours
proxy variables. A socket-level guard around it would still let the URL
choose the method and headers, and would have to track every plugin's
internals across upgrades. So the portal sends the request itself, here,
with the standard library only:

- the method, headers and body are the project's (``channels`` builds them);
  nothing in the URL is interpreted as an option;
- the host name is resolved once, EVERY address it resolves to must be
  allowed, and the connection goes to that checked address (a name that
  answers differently a moment later changes nothing);
- redirects are never followed (a 3xx is a failure), so there is no second
  hop to check;
- loopback, link-local (169.254.169.254, the cloud metadata address),
  private, shared, multicast, reserved and unspecified addresses are refused
  unless the administrator lists their network in
  ALERT_CHANNELS_ALLOWED_NETWORKS (the model: Healthchecks'
  INTEGRATIONS_ALLOW_PRIVATE_IPS, made per network);
- no proxy from the environment, bounded time and a bounded answer.
"""

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass

from django.conf import settings

from backup.operations import results

# Seconds to connect and to wait for each answer: a slow receiver must not
# hold up everyone else's alerts.
TIMEOUT_SECONDS = 5.0
# Read at most this much of an answer (it is never shown; only the status counts).
MAX_ANSWER_BYTES = 64 * 1024


class Refused(Exception):
    """The request was not sent; the message says why (for the person), and
    ``facts`` (backup.operations.results) let a page say it in its reader's
    language later."""

    def __init__(self, facts: results.Result):
        super().__init__(results.render(facts, owner_name=""))
        self.facts = facts


@dataclass(frozen=True)
class Request:
    """What the project sends: never taken from the URL beyond where to."""

    secure: bool
    host: str
    port: int
    path: str  # with its query, as the service gave it
    method: str
    headers: dict
    body: bytes


def allowed_networks() -> list:
    return [
        ipaddress.ip_network(network, strict=False)
        for network in settings.ALERT_CHANNELS_ALLOWED_NETWORKS
    ]


NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded(address) -> list:
    """The IPv4 addresses an IPv6 address carries to (mapped ::ffff:a.b.c.d,
    NAT64 64:ff9b::a.b.c.d, 6to4, Teredo): each is judged as itself, or
    ::ffff:169.254.169.254 would pass as "global"."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    carried = [address.ipv4_mapped, address.sixtofour]
    if address.teredo:
        carried += list(address.teredo)
    if address in NAT64:
        carried.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [inner for inner in carried if inner is not None]


def _public(address) -> bool:
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_unspecified
    )


def address_allowed(address) -> bool:
    """Public, or in a network the administrator allowed."""
    address = ipaddress.ip_address(address)
    judged = _embedded(address) or [address]
    networks = allowed_networks()
    if all(any(each in network for network in networks) for each in judged):
        return True
    return all(_public(each) for each in judged)


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, each allowed; else Refused."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise Refused(results.result("channel_unresolved", host=host)) from error
    addresses = list(dict.fromkeys(str(entry[4][0]) for entry in found))
    refused = [address for address in addresses if not address_allowed(address)]
    if refused or not addresses:
        raise Refused(
            results.result("channel_inside", host=host, address=", ".join(refused) or "-")
        )
    return addresses


def tls_context() -> ssl.SSLContext:
    """The system's trusted authorities, the name checked against the
    certificate (the connection goes to the checked address, the name is
    what the certificate must be for)."""
    return ssl.create_default_context()


def _connect(request: Request, addresses: list[str]) -> socket.socket:
    last_error = None
    for address in addresses:
        try:
            sock = socket.create_connection((address, request.port), timeout=TIMEOUT_SECONDS)
        except OSError as error:
            last_error = error
            continue
        # Checked again on the socket itself: what it is connected to is what counts.
        peer = sock.getpeername()[0]
        if not address_allowed(peer):
            sock.close()
            raise Refused(results.result("channel_reached_refused", address=peer))
        if request.secure:
            context = tls_context()
            try:
                sock = context.wrap_socket(sock, server_hostname=request.host)
            except (OSError, ssl.SSLError):
                sock.close()
                raise
        return sock
    raise last_error or OSError("no address to connect to")


class _CheckedConnection(http.client.HTTPConnection):
    """http.client on a socket already connected to a checked address."""

    def __init__(self, request: Request, addresses: list[str]):
        super().__init__(request.host, request.port, timeout=TIMEOUT_SECONDS)
        self._request, self._addresses = request, addresses

    def connect(self):
        self.sock = _connect(self._request, self._addresses)


def send(request: Request) -> int:
    """Send ``request`` once; returns the answer's status. Refused when the
    address is not allowed (nothing was sent); OSError when it failed."""
    addresses = resolve(request.host, request.port)
    connection = _CheckedConnection(request, addresses)
    try:
        headers = {**request.headers, "Content-Length": str(len(request.body))}
        connection.request(request.method, request.path, body=request.body, headers=headers)
        answer = connection.getresponse()
        answer.read(MAX_ANSWER_BYTES)
        return answer.status
    except http.client.HTTPException as error:
        raise OSError(f"{type(error).__name__}: {error}") from error
    finally:
        connection.close()
