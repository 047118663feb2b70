"""The alert thresholds are checked at start: a percentage outside 1-100
would otherwise mean an alert that never comes, or comes on every run."""

import ipaddress

from django.conf import settings
from django.core import checks


def _percent(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 100


@checks.register()
def alert_settings(app_configs: object, **kwargs: object) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    near_quota = settings.NEAR_QUOTA_PERCENTS
    if not isinstance(near_quota, list | tuple) or not all(map(_percent, near_quota)):
        errors.append(
            checks.Error(
                f"NEAR_QUOTA_PERCENTS: {near_quota!r} is not a list of whole percentages.",
                hint="For example [80, 90, 95]; an empty list turns near-quota alerts off.",
                id="backup.alerts.E001",
            )
        )
    for name in ("POOL_WARN_ALLOCATED_PERCENT", "POOL_WARN_USED_PERCENT"):
        value = getattr(settings, name)
        if not _percent(value):
            errors.append(
                checks.Error(
                    f"{name}: {value!r} is not a whole percentage from 1 to 100.",
                    id="backup.alerts.E002",
                )
            )
    for network in settings.ALERT_CHANNELS_ALLOWED_NETWORKS:
        try:
            ipaddress.ip_network(network, strict=False)
        except (TypeError, ValueError):
            errors.append(
                checks.Error(
                    f"ALERT_CHANNELS_ALLOWED_NETWORKS: {network!r} is not a network.",
                    hint='For example ["10.1.2.3/32"]; empty allows public addresses only.',
                    id="backup.alerts.E003",
                )
            )
    return errors
