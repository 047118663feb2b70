"""The check-in limits are checked at start: a rate of 0 would refuse every
computer, and an unbounded log would let anyone on the network fill the
database."""

from django.conf import settings
from django.core import checks

# Bounds an admin may choose within (the defaults are 20, 3,000 and 10,000).
LIMITS = {
    "CHECKIN_RATE_PER_TOKEN": (1, 10_000),
    "CHECKIN_RATE_PER_ADDRESS": (1, 1_000_000),
    "CHECKIN_LOG_MAX_BYTES": (0, 1_000_000),
}


@checks.register()
def checkin_settings(app_configs: object, **kwargs: object) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for name, (low, high) in LIMITS.items():
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors.append(
                checks.Error(
                    f"{name}: {value!r} is not a whole number from {low:,} to {high:,}.",
                    id="backup.checkins.E001",
                )
            )
    return errors
