"""{% pool_warnings pool as warnings %}: the admin page's pool warnings,
from the pool figures the page already has (no extra privileged call)."""

import datetime

from django import template
from django.conf import settings
from django.utils import timezone

from backup.alerts import space
from backup.volumes.status import GIB

register = template.Library()

REFUSALS_WINDOW = datetime.timedelta(days=7)


@register.simple_tag
def pool_warnings(pool) -> dict:
    figures = {
        "size_bytes": pool.size_bytes,
        "allocated_bytes": pool.allocated_bytes,
        "used_bytes": pool.used_bytes,
    }
    return {
        "thresholds": space.pool_warnings(figures),
        "no_new_volume": pool.free_bytes // GIB < settings.DEFAULT_DISK_SIZE,
        "free_gib": pool.free_bytes // GIB,
        "default_size": settings.DEFAULT_DISK_SIZE,
        "refusals": space.recent_pool_refusals(timezone.now() - REFUSALS_WINDOW),
        "refusals_days": REFUSALS_WINDOW.days,
    }
