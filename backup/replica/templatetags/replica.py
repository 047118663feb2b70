"""The second server's parts of the admin page and the employee dashboard,
as tags so that the pages that show them change by one line: each reads
the database only (services.state / copy_of), and nothing at all when no
replica is configured."""

import datetime

from django import template
from django.utils.translation import gettext as _

from backup.core.sizes import binary_size

from .. import services

register = template.Library()


@register.filter
def lag(value: datetime.timedelta | None) -> str:
    """A lag as hours and minutes ("1 h 05 min"); an en dash when none."""
    if value is None:
        return "\u2013"
    minutes = int(value.total_seconds() // 60)
    return _("%(hours)d h %(minutes)02d min") % {"hours": minutes // 60, "minutes": minutes % 60}


@register.inclusion_tag("replica/_staff.html")
def replica_overview() -> dict:
    state = services.state()
    if state is None:
        return {"configured": False}
    report = state.report
    return {
        "configured": True,
        "state": state,
        "report": report,
        "pool_size": binary_size(report.pool_size_bytes) if report else None,
        "pool_free": binary_size(report.pool_free_bytes) if report else None,
        "limit": 2 * services.interval(),
    }


@register.inclusion_tag("replica/_copy.html")
def replica_copy(volume) -> dict:
    copy = services.copy_of(volume.account)
    return {"configured": copy is not None, "copy": copy}
