"""Push and webhook channels: which addresses alerts may go to, and the one
request the portal sends to each.

An address names only WHERE an alert goes. What is sent (method, headers,
body) is fixed here per kind of service, and the request itself goes
through ``outbound``, which checks the address actually connected to. The
kinds are the Apprise URL forms people already had (``json://``,
``form://``, ``ntfy://``, ``gotify://``, each with an ``s`` for https), the
self-hosted chats in Apprise's spelling (``mmost(s)://`` for Mattermost,
``matrix(s)://`` for Matrix), and the https webhook addresses Slack,
Microsoft Teams, Discord and Google Chat hand out, pasted as they are.

Apprise options (``?method=``, ``+Header=``, ``:field=``, ``-param``) are
refused, never read: in Apprise they chose the request's method, headers
and fields. The URLs may hold tokens or passwords: logs and pages show only
``redacted()``.
"""

import base64
import ipaddress
import json
import logging
import re
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from django.utils.translation import gettext as _

from backup.operations import results

from . import outbound

logger = logging.getLogger("backup.alerts")

# What a failure record keeps of the reason.
MAX_ERROR_LENGTH = 200
# Discord refuses longer messages; the others take more than alerts hold.
DISCORD_MAX_CHARS = 2000
NTFY_TOPIC = re.compile(r"[-_A-Za-z0-9]{1,64}")
MATRIX_ROOM = re.compile(r"![^/:\s]+:[A-Za-z0-9.-]+(:[0-9]{1,5})?")
TOKEN = re.compile(r"[-_.~A-Za-z0-9]{1,200}")

# The https webhooks recognised by their host (and where their path starts).
WEBHOOK_HOSTS = (
    ("slack", re.compile(r"hooks\.slack\.com"), "/services/"),
    ("discord", re.compile(r"(canary\.|ptb\.)?discord(app)?\.com"), "/api/webhooks/"),
    ("teams", re.compile(r"[a-z0-9-]+\.webhook\.office\.com"), "/"),
    ("teams", re.compile(r"[a-z0-9.-]+\.logic\.azure\.com"), "/workflows/"),
    ("teams", re.compile(r"[a-z0-9.-]+\.api\.powerplatform\.com"), "/"),
    ("gchat", re.compile(r"chat\.googleapis\.com"), "/v1/spaces/"),
)
# scheme -> (kind, https?)
SCHEMES = {
    "json": ("json", False),
    "jsons": ("json", True),
    "form": ("form", False),
    "forms": ("form", True),
    "ntfy": ("ntfy", False),
    "ntfys": ("ntfy", True),
    "gotify": ("gotify", False),
    "gotifys": ("gotify", True),
    "mmost": ("mattermost", False),
    "mmosts": ("mattermost", True),
    "matrix": ("matrix", False),
    "matrixs": ("matrix", True),
    "https": ("webhook", True),
}
SERVICES = "Slack, Microsoft Teams, Discord, Google Chat, Mattermost, Matrix, ntfy, Gotify"


class UnusableURL(ValueError):
    """Not an address alerts may be sent to; the message says why."""


@dataclass(frozen=True)
class Address:
    """A parsed, allowed channel address."""

    kind: str
    secure: bool
    host: str
    port: int
    path: str  # segments after the host, without the query
    query: str
    username: str
    password: str

    @property
    def segments(self) -> list[str]:
        return [unquote(part) for part in self.path.strip("/").split("/") if part]


def scheme_of(url: str) -> str:
    scheme, separator, _rest = url.partition("://")
    return scheme.lower() if separator else ""


def _not_understood() -> UnusableURL:
    return UnusableURL(
        _(
            "That address could not be understood (a host name, and for Gotify, "
            "Mattermost and Matrix a token, are needed). Check it against your service's "
            "instructions."
        )
    )


def _option_refusal() -> UnusableURL:
    return UnusableURL(
        _(
            "Options in the address (such as ?method=, +Header= or :field=) are not "
            "accepted: the portal decides how alerts are sent. Remove them."
        )
    )


def _is_option(key: str) -> bool:
    return key.lower() == "method" or key[:1] in "+-:"


def parse(url: str) -> Address:
    """The Address of an allowed channel URL, else UnusableURL saying why."""
    if any(character.isspace() or ord(character) < 32 for character in url):
        raise UnusableURL(_("An address can't contain spaces or control characters."))
    if not url.isascii():
        raise UnusableURL(
            _(
                "An address can contain only ASCII characters: write a name with other "
                "letters in its xn-- form, and other characters percent-encoded."
            )
        )
    scheme = scheme_of(url)
    if scheme not in SCHEMES:
        raise UnusableURL(
            _(
                "Alerts can go to %(services)s or a JSON/form webhook, not to “%(scheme)s” "
                "addresses."
            )
            % {"services": SERVICES, "scheme": scheme or url[:20]}
        )
    kind, secure = SCHEMES[scheme]
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if secure else 80)
        host = parts.hostname or ""
    except ValueError:
        raise _not_understood() from None
    if parts.fragment or "#" in url:
        raise _option_refusal()
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(_is_option(key) for key, _value in query):
        raise _option_refusal()
    if kind != "webhook" and parts.query:
        # The Apprise forms: everything after ? is an option there.
        raise _option_refusal()
    if not host:
        raise _not_understood()
    if kind == "webhook":
        kind = _webhook_kind(host, parts.path)
        if parts.username or parts.password or parts.port:
            raise _not_understood()
    address = Address(
        kind=kind,
        secure=secure,
        host=host,
        port=port,
        path=parts.path,
        query=parts.query,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )
    _check_shape(address)
    _check_literal(host)
    return address


def _check_literal(host: str) -> None:
    """A literal address is judged at once (a name only when it is resolved,
    at each send: it may point elsewhere by then)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return
    if not outbound.address_allowed(host):
        raise UnusableURL(
            _("%(host)s is an address inside the server's network, which alerts are not sent to.")
            % {"host": host}
        )


def _webhook_kind(host: str, path: str) -> str:
    for kind, pattern, prefix in WEBHOOK_HOSTS:
        if pattern.fullmatch(host) and path.startswith(prefix) and len(path) > len(prefix):
            return kind
    raise UnusableURL(
        _(
            "An https address is accepted only as the webhook address Slack, Microsoft "
            "Teams, Discord or Google Chat gave you; for another service use json:// or "
            "jsons:// (a JSON webhook) or form:// or forms://."
        )
    )


def _check_shape(address: Address) -> None:
    segments = address.segments
    if address.kind == "ntfy" and not (segments and NTFY_TOPIC.fullmatch(segments[-1])):
        raise _not_understood()
    if address.kind in ("gotify", "mattermost") and not (
        segments and TOKEN.fullmatch(segments[-1])
    ):
        raise _not_understood()
    if address.kind == "matrix" and not (
        address.username
        and not address.password
        and TOKEN.fullmatch(address.username)
        and len(segments) == 1
        and MATRIX_ROOM.fullmatch(segments[0])
    ):
        raise UnusableURL(
            _(
                "A Matrix address is matrixs://ACCESS_TOKEN@homeserver/!room:server "
                "(the room's ID, which starts with !)."
            )
        )


def _prefix(address: Address) -> str:
    """The path before the last segment (a service installed under a path)."""
    return "".join(f"/{quote(part)}" for part in address.segments[:-1])


def _basic(address: Address) -> dict:
    if not address.username:
        return {}
    pair = f"{address.username}:{address.password}".encode()
    return {"Authorization": f"Basic {base64.b64encode(pair).decode('ascii')}"}


def _json(payload: dict) -> tuple[dict, bytes]:
    return {"Content-Type": "application/json"}, json.dumps(payload).encode()


def request_for(address: Address, title: str, body: str) -> outbound.Request:
    """The project's one request for an alert to ``address``."""
    body = body.strip()
    text = f"{title}\n\n{body}"
    method, path, extra = "POST", address.path or "/", {}
    if address.kind == "json":
        headers, data = _json({"version": "1.0", "title": title, "message": body, "type": "info"})
        extra = _basic(address)
    elif address.kind == "form":
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        fields = {"version": "1.0", "title": title, "message": body, "type": "info"}
        data = urlencode(fields).encode()
        extra = _basic(address)
    elif address.kind == "ntfy":
        # JSON publishing: a title in an HTTP header could not hold non-ASCII.
        path = f"{_prefix(address)}/"
        payload = {"topic": address.segments[-1], "title": title, "message": body}
        headers, data = _json(payload)
        extra = _basic(address)
    elif address.kind == "gotify":
        path = f"{_prefix(address)}/message"
        headers, data = _json({"title": title, "message": body, "priority": 5})
        extra = {"X-Gotify-Key": address.segments[-1]}
    elif address.kind == "mattermost":
        path = f"{_prefix(address)}/hooks/{quote(address.segments[-1])}"
        headers, data = _json({"text": f"#### {title}\n\n{body}"})
    elif address.kind == "matrix":
        # The Matrix client API sends a message with PUT and a transaction id.
        method = "PUT"
        room = quote(address.segments[0], safe="")
        path = f"/_matrix/client/v3/rooms/{room}/send/m.room.message/{uuid.uuid4().hex}"
        headers, data = _json({"msgtype": "m.text", "body": text})
        extra = {"Authorization": f"Bearer {address.username}"}
    elif address.kind == "slack":
        headers, data = _json({"text": f"*{title}*\n{body}"})
    elif address.kind == "discord":
        # No @everyone or role pings from a message body.
        content = f"**{title}**\n{body}"[:DISCORD_MAX_CHARS]
        headers, data = _json({"content": content, "allowed_mentions": {"parse": []}})
    elif address.kind == "gchat":
        headers, data = _json({"text": f"*{title}*\n{body}"})
    else:  # teams: an Adaptive Card, which Workflows and connectors both take
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.2",
            "body": [
                {"type": "TextBlock", "text": title, "weight": "bolder", "wrap": True},
                {"type": "TextBlock", "text": body, "wrap": True},
            ],
        }
        attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        headers, data = _json({"type": "message", "attachments": [attachment]})
    if address.query and address.kind in ("slack", "discord", "teams", "gchat"):
        path = f"{path}?{address.query}"
    return outbound.Request(
        secure=address.secure,
        host=address.host,
        port=address.port,
        path=path,
        method=method,
        headers={**headers, **extra, "User-Agent": "backup-portal-alerts"},
        body=data,
    )


def _masked(secret: str) -> str:
    return f"{secret[0]}...{secret[-1]}" if len(secret) > 2 else "****"


def redacted(url: str) -> str:
    """The URL with its secrets hidden, fit for a log line or a page."""
    try:
        address = parse(url)
    except UnusableURL:
        return f"{scheme_of(url) or '?'}://…"
    scheme = scheme_of(url)
    netloc = address.host if ":" not in address.host else f"[{address.host}]"
    if urlsplit(url).port:
        netloc = f"{netloc}:{address.port}"
    if address.kind == "webhook" or address.kind in ("slack", "discord", "teams", "gchat"):
        return f"{scheme}://{netloc}/…"
    if address.kind == "matrix":
        return f"{scheme}://****@{netloc}/{address.segments[0]}"
    if address.username:
        netloc = f"{address.username}:****@{netloc}" if address.password else f"****@{netloc}"
    segments = address.segments
    if address.kind in ("gotify", "mattermost"):
        segments = [*segments[:-1], _masked(segments[-1])]
    return f"{scheme}://{netloc}/" + "/".join(segments)


def push(url: str, title: str, body: str) -> str | results.Result | None:
    """Send one message; None when it was delivered, else why not: facts
    (told in each reader's language), or a short text."""
    try:
        request = request_for(parse(url), title, body)
        status = outbound.send(request)
    except outbound.Refused as error:
        return error.facts
    except UnusableURL as error:
        return str(error)[:MAX_ERROR_LENGTH]
    except OSError as error:
        return results.result("channel_not_reached", error=str(error)[:MAX_ERROR_LENGTH])
    except Exception as error:  # a bug must not stop the other channels
        logger.exception("alert channel %s raised", redacted(url))
        return f"{type(error).__name__}"[:MAX_ERROR_LENGTH]
    if 300 <= status < 400:
        return results.result("channel_redirect", status=status)
    if not 200 <= status < 300:
        return results.result("channel_refused", status=status)
    return None
