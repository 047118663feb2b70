"""Notices about what happened to a volume, sent through the one delivery
path (each reader in their language). The volumes app announces by signal
(backup.volumes.signals); this app, above it, tells the people."""

import logging
from datetime import datetime
from typing import Any

from django.conf import settings

from backup.operations.models import Operation

from . import delivery

logger = logging.getLogger("backup.volumes")


def announce_deletion(
    sender: Any, operation: Operation, account: str, destroy_after: datetime | None, **kwargs: Any
) -> None:
    """The owner and the admins are told at once: whoever holds the owner's
    SSO session can delete, and the owner must learn of it while it can
    still be undone."""
    context = {
        "account": account,
        "actor": operation.actor_name,
        "requested_at": operation.requested_at,
        "destroy_after": destroy_after,
        "undo_url": delivery.link("dashboard:home"),
        "person_url": delivery.link("staff:person", args=(account,)),
        "support_contact": settings.SUPPORT_CONTACT,
    }
    template = "volumes/email/deleted"
    try:
        owner = operation.owner
        if owner is not None and owner.is_active:
            delivery.notify_person(owner, template, {**context, "for_admins": False})
        delivery.notify_admins(template, {**context, "for_admins": True})
    except Exception:  # the deletion is done; a failed notice must not undo that
        logger.exception("the deletion of %s could not be announced", account)
