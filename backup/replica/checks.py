"""The replica settings are checked at start: a wrong type would show
every volume behind, or none."""

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
    return errors
