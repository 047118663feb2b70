"""The mass-change alert: one to the employee, one to the admins, naming the
last snapshot before the change as the restore point (through backup.alerts:
email and each person's channels)."""

import logging

from django.conf import settings
from django.utils import timezone

from backup.alerts.delivery import link, notify_admins, notify_person
from backup.volumes.models import Volume

from .models import MassChange

logger = logging.getLogger("backup.snapshots")

TEMPLATE = "snapshots/email/mass_change"


def announce(mass_change: MassChange) -> list[str]:
    """Alert the owner and the admins once; returns the channels reached."""
    if mass_change.emailed_at is not None:
        return []
    account = mass_change.snapshot.account
    volume = Volume.objects.select_related("owner").filter(account=account).first()
    owner = volume.owner if volume else None
    context = {
        "account": account,
        "mass_change": mass_change,
        "snapshots_url": link("snapshots:list"),
        "support_contact": settings.SUPPORT_CONTACT,
    }
    deliveries = []
    if owner is not None and owner.is_active:
        deliveries.append(notify_person(owner, TEMPLATE, {**context, "for_admins": False}))
    deliveries.append(notify_admins(TEMPLATE, {**context, "for_admins": True}))
    reached = [channel for delivery in deliveries for channel in delivery.reached]
    # Reached now, or kept by the delivery path to be tried until it is
    # (PendingAlert): either way this run must not announce it again.
    if any(delivery.handled for delivery in deliveries):
        mass_change.emailed_at = timezone.now()
        mass_change.save(update_fields=["emailed_at"])
    else:
        logger.warning("mass-change alert for %s reached nobody and was not kept", account)
    return reached
