"""The replica settings are checked at start: a wrong type would show
every volume behind, or none."""

import re

from django.conf import settings
from django.core import checks


@checks.register()
def replica_settings(app_configs: object, **kwargs: object) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    if not isinstance(settings.REPLICA_ENABLED, bool):
        errors.append(
            checks.Error(
                f"REPLICA_ENABLED: {settings.REPLICA_ENABLED!r} is not true or false.",
                id="backup.replica.E001",
            )
        )
    interval = settings.REPLICA_INTERVAL_MINUTES
    if not isinstance(interval, int) or isinstance(interval, bool) or not 1 <= interval <= 10080:
        errors.append(
            checks.Error(
                f"REPLICA_INTERVAL_MINUTES: {interval!r} is not a whole number of minutes "
                "from 1 to 10080.",
                hint="The replica's own REPLICA_INTERVAL_MINUTES (60: hourly pulls).",
                id="backup.replica.E002",
            )
        )
    errors.extend(_login_check_settings())
    return errors


# A host name or an IPv4/IPv6 address, nothing ssh could read as an option.
HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:-]{0,252}")


def _login_check_settings() -> list[checks.CheckMessage]:
    """The settings the primary's "can't log in to the replica" check uses
    (deployment/checks/replica.py) go into ssh's argv: typed and shaped."""
    errors: list[checks.CheckMessage] = []
    host = settings.REPLICA_HOST
    if not isinstance(host, str) or (host and not HOST.fullmatch(host)):
        errors.append(
            checks.Error(
                f"REPLICA_HOST: {host!r} is not a host name or address (or empty).",
                id="backup.replica.E003",
            )
        )
    port = settings.REPLICA_SSH_PORT
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        errors.append(
            checks.Error(
                f"REPLICA_SSH_PORT: {port!r} is not a port number.", id="backup.replica.E004"
            )
        )
    identities = settings.REPLICA_PRIMARY_IDENTITIES
    if not isinstance(identities, list) or not all(
        isinstance(path, str) and path.startswith("/") for path in identities
    ):
        errors.append(
            checks.Error(
                f"REPLICA_PRIMARY_IDENTITIES: {identities!r} is not a list of absolute paths.",
                id="backup.replica.E005",
            )
        )
    return errors
