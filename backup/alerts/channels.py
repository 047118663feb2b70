"""Push and webhook channels: Apprise URLs, restricted to plugins that post
over http(s) to the address the person gave.

Apprise knows well over a hundred services, some of which read or write
local files, send mail through any server, or run commands; only the
schemes below are accepted, and the parsed plugin must be the one the
scheme names. The URLs may hold tokens or passwords: logs and pages show
them only as Apprise's privacy form.
"""

import logging

from django.utils.translation import gettext as _

logger = logging.getLogger("backup.alerts")

# Scheme -> the Apprise plugin class it must parse to.
ALLOWED_SCHEMES = {
    "json": "NotifyJSON",
    "jsons": "NotifyJSON",
    "form": "NotifyForm",
    "forms": "NotifyForm",
    "ntfy": "NotifyNtfy",
    "ntfys": "NotifyNtfy",
    "gotify": "NotifyGotify",
    "gotifys": "NotifyGotify",
}
# Seconds to connect and to wait for an answer, whatever the URL asks for
# (cto=/rto=): a slow receiver must not hold up everyone else's alerts.
TIMEOUT_SECONDS = 5.0
# What a failure record keeps of the reason.
MAX_ERROR_LENGTH = 200


class UnusableURL(ValueError):
    """Not an address alerts may be sent to; the message says why."""


def scheme_of(url: str) -> str:
    scheme, separator, _rest = url.partition("://")
    return scheme.lower() if separator else ""


def plugin_for(url: str):
    """The Apprise plugin for an allowed URL, else UnusableURL."""
    scheme = scheme_of(url)
    if scheme not in ALLOWED_SCHEMES:
        raise UnusableURL(
            _(
                "Alerts can go only to a webhook or push address starting with %(schemes)s; "
                "“%(scheme)s” is not one of them."
            )
            % {
                "schemes": ", ".join(f"{name}://" for name in sorted(ALLOWED_SCHEMES)),
                "scheme": scheme or url[:20],
            }
        )
    # Imported here: Apprise takes a tenth of a second to import and more to
    # load its plugins, which every cron job and web process would pay at start.
    import apprise

    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None or type(plugin).__name__ != ALLOWED_SCHEMES[scheme]:
        raise UnusableURL(
            _(
                "That address could not be understood (a host name, and for Gotify an "
                "application token, are needed). Check it against your service's instructions."
            )
        )
    plugin.socket_connect_timeout = min(plugin.socket_connect_timeout, TIMEOUT_SECONDS)
    plugin.socket_read_timeout = min(plugin.socket_read_timeout, TIMEOUT_SECONDS)
    return plugin


def redacted(url: str) -> str:
    """The URL with its secrets hidden, fit for a log line or a page (without
    its options, which Apprise spells out in full)."""
    try:
        return plugin_for(url).url(privacy=True).partition("?")[0]
    except UnusableURL:
        return f"{scheme_of(url) or '?'}://…"


def push(url: str, title: str, body: str) -> str | None:
    """Send one message; None when it was delivered, else why not (short)."""
    try:
        plugin = plugin_for(url)
        delivered = plugin.notify(title=title, body=body)
    except UnusableURL as error:
        return str(error)[:MAX_ERROR_LENGTH]
    except Exception as error:  # a plugin's bug must not stop the other channels
        logger.exception("alert channel %s raised", redacted(url))
        return f"{type(error).__name__}"[:MAX_ERROR_LENGTH]
    if not delivered:
        return _("the service did not accept the message (see the server log)")
    return None
