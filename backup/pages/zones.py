"""Which time zone a person reads times in: their choice, else the site's
TIME_ZONE. Pages activate it per request (middleware.ActivateTimeZone);
operation messages and emails inside ``timezone.override(zone_of(user))``."""

import functools
import zoneinfo

from django.conf import settings

from .models import TimeZonePreference

# The session remembers the zone, so that a page view costs no query.
_SESSION_KEY = "backup_time_zone"


@functools.cache
def _available() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def supported(zone: str | None) -> str | None:
    """``zone`` when it is an IANA time zone name this system knows, else None."""
    if not isinstance(zone, str) or zone not in _available():
        return None
    return zone


def choices() -> list[str]:
    """Every zone a person may pick, sorted (the form's list)."""
    return sorted(_available())


def zone_of(user) -> str:
    """The zone to show ``user`` times in."""
    if user is None or user.pk is None:
        return settings.TIME_ZONE
    stored = (
        TimeZonePreference.objects.filter(user_id=user.pk).values_list("zone", flat=True).first()
    )
    return supported(stored) or settings.TIME_ZONE


def zone_for_request(request) -> str:
    """The signed-in person's zone, read once per session."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return settings.TIME_ZONE
    zone = supported(request.session.get(_SESSION_KEY))
    if zone is None:
        zone = zone_of(user)
        request.session[_SESSION_KEY] = zone
    return zone


def choose(request, zone: str | None) -> bool:
    """Store ``zone`` as the signed-in person's; False (nothing changed)
    when it is not a known zone."""
    zone = supported(zone)
    user = getattr(request, "user", None)
    if zone is None or user is None or not user.is_authenticated:
        return False
    TimeZonePreference.objects.update_or_create(user=user, defaults={"zone": zone})
    request.session[_SESSION_KEY] = zone
    return True
