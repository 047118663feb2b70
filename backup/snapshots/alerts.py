"""The mass-change email: one to the employee, one to the admins, naming the
last snapshot before the change as the restore point."""

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import timezone, translation

from backup.discovery.alerts import address_of, admin_addresses, link
from backup.pages.languages import language_of
from backup.volumes.models import Volume

from .models import MassChange

logger = logging.getLogger("backup.snapshots")


def _render(context: dict, language: str) -> tuple[str, str]:
    """Subject and body in ``language`` (the recipient's)."""
    with translation.override(language):
        subject = render_to_string("snapshots/email/mass_change_subject.txt", context)
        body = render_to_string("snapshots/email/mass_change.txt", context)
    return " ".join(subject.split()), body


def announce(mass_change: MassChange) -> list[str]:
    """Email the owner and the admins once; returns the addresses reached."""
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
    recipients = []
    owner_address = address_of(owner) if owner is not None and owner.is_active else None
    if owner_address:
        recipients.append(([owner_address], {**context, "for_admins": False}, language_of(owner)))
    admins = admin_addresses()
    if admins:
        # Several admins, or addresses without an account: the site's language.
        recipients.append((admins, {**context, "for_admins": True}, settings.LANGUAGE_CODE))
    reached = []
    for addresses, message_context, language in recipients:
        subject, body = _render(message_context, language)
        try:
            EmailMessage(subject, body, to=addresses).send()
        except OSError as error:  # smtplib's errors are OSErrors
            logger.error("mass-change alert for %s not sent to %s: %s", account, addresses, error)
            continue
        reached += addresses
    if reached:
        mass_change.emailed_at = timezone.now()
        mass_change.save(update_fields=["emailed_at"])
    else:
        logger.warning("mass-change alert for %s reached nobody", account)
    return reached
