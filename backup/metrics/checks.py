"""The metrics settings are checked at start: a network that doesn't parse
or a weak token would otherwise fail only when Prometheus first scrapes."""

import ipaddress
import re

from django.conf import settings
from django.core import checks

# Long enough that guessing is hopeless; bin/install-style tokens
# (secrets.token_urlsafe(32)) have 43 characters.
MINIMUM_TOKEN_LENGTH = 32
# What can travel in an Authorization header unchanged.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9._~+/=-]+")


@checks.register()
def metrics_settings(app_configs: object, **kwargs: object) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    networks = settings.METRICS_ALLOWED_NETWORKS
    # A bare string would be read character by character.
    values = networks if isinstance(networks, list | tuple) else [networks]
    for value in values:
        try:
            if values is not networks or not isinstance(value, str):
                raise TypeError("give a list of network strings")
            ipaddress.ip_network(value)
        except (TypeError, ValueError) as error:
            errors.append(
                checks.Error(
                    f"METRICS_ALLOWED_NETWORKS: {value!r} is not a network ({error}).",
                    hint="Write networks as 192.0.2.0/24 or 2001:db8::/32, with host bits zero.",
                    id="backup.metrics.E001",
                )
            )
    token = settings.METRICS_TOKEN
    if not isinstance(token, str) or (
        token and (len(token) < MINIMUM_TOKEN_LENGTH or not TOKEN_PATTERN.fullmatch(token))
    ):
        errors.append(
            checks.Error(
                "METRICS_TOKEN must be empty (no token accepted) or at least "
                f"{MINIMUM_TOKEN_LENGTH} letters, digits or -._~+/= characters.",
                hint="Generate one with: "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'",
                id="backup.metrics.E002",
            )
        )
    return errors
