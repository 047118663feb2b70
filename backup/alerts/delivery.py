"""The one way every alert leaves the portal (stale backups, mass changes,
near-quota, pool thresholds): by email unless the person turned it off, and
to each of their push or webhook channels. One channel failing is recorded
(on the channel and in the log) and never stops the others.

Each message is rendered in its reader's language.
"""

import logging
import sys
from dataclasses import dataclass, field
from urllib.parse import urljoin

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils import timezone, translation

from backup.pages.languages import language_of

from . import channels
from .models import AlertPreference, Channel

logger = logging.getLogger("backup.alerts")

EMAIL = "email"


@dataclass
class Delivery:
    """Where one alert went: the channels reached, and (channel, why) failed."""

    reached: list = field(default_factory=list)
    failed: list = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        return bool(self.reached)


def address_of(user) -> str | None:
    if user.email:
        return user.email
    if settings.ALERT_EMAIL_DOMAIN:
        return f"{user.username}@{settings.ALERT_EMAIL_DOMAIN}"
    return None


def wants_email(user) -> bool:
    """Email is on unless turned off, and off only while another channel exists."""
    preference = AlertPreference.objects.filter(user=user).first()
    if preference is None or preference.email:
        return True
    return not channels_allowed() or not Channel.objects.filter(user=user).exists()


def channels_allowed() -> bool:
    return settings.ALERT_CHANNELS_ALLOWED


def has_destination(user) -> bool:
    """Whether an alert to ``user`` can reach them at all."""
    if wants_email(user) and address_of(user):
        return True
    return channels_allowed() and Channel.objects.filter(user=user).exists()


def _staff():
    return get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username")


def admin_addresses() -> list[str]:
    if settings.ALERT_ADMIN_EMAILS:
        return list(settings.ALERT_ADMIN_EMAILS)
    return [address for user in _staff() if wants_email(user) and (address := address_of(user))]


def _admins_with_channels():
    return _staff().filter(alert_channels__isnull=False).distinct()


def admins_reachable() -> bool:
    return bool(admin_addresses()) or (channels_allowed() and _admins_with_channels().exists())


def link(view: str, query: str = "") -> str:
    """An absolute link to a page of the portal, for an alert."""
    base = settings.PORTAL_URL or (
        f"https://{settings.SERVER_HOSTNAME}{settings.FORCE_SCRIPT_NAME or ''}/"
    )
    # reverse() includes the script prefix, which PORTAL_URL already holds.
    path = reverse(view).removeprefix(get_script_prefix())
    return urljoin(base if base.endswith("/") else f"{base}/", path) + query


def render(template: str, context: dict, language: str) -> tuple[str, str]:
    """(subject, body) of ``template``_subject.txt and ``template``.txt."""
    with translation.override(language):
        subject = render_to_string(f"{template}_subject.txt", context)
        body = render_to_string(f"{template}.txt", context)
    return " ".join(subject.split()), body


def _email(addresses, subject, body, connection, delivery: Delivery) -> None:
    try:
        EmailMessage(subject, body, to=addresses, connection=connection).send()
    except OSError as error:  # smtplib's errors are OSErrors
        logger.error("alert %r not emailed to %s: %s", subject, ", ".join(addresses), error)
        delivery.failed.append((EMAIL, str(error)))
        return
    logger.info("alert %r emailed to %s", subject, ", ".join(addresses))
    delivery.reached.append(EMAIL)


def _push_all(user, subject, body, delivery: Delivery) -> None:
    if not channels_allowed():
        return
    for channel in Channel.objects.filter(user=user):
        shown = channels.redacted(channel.url)
        if settings.ALERT_CHANNELS_PRINT:
            # The demo: what went where, beside the console email backend's output.
            sys.stdout.write(f"Alert for {user.username} via {shown}: {subject}\n{body}\n")
            sys.stdout.flush()
        error = channels.push(channel.url, subject, body)
        now = timezone.now()
        if error is None:
            channel.last_sent_at = now
            channel.save(update_fields=["last_sent_at"])
            delivery.reached.append(shown)
            logger.info("alert %r sent to %s via %s", subject, user.username, shown)
        else:
            channel.last_failed_at, channel.last_error = now, error[: channels.MAX_ERROR_LENGTH]
            channel.save(update_fields=["last_failed_at", "last_error"])
            delivery.failed.append((shown, error))
            logger.warning("alert %r to %s via %s failed: %s", subject, user.username, shown, error)


def notify_person(user, template: str, context: dict, *, connection=None) -> Delivery:
    """Send one alert to ``user`` through every channel they chose."""
    delivery = Delivery()
    subject, body = render(template, {**context, "user": user}, language_of(user))
    address = address_of(user)
    if wants_email(user) and address:
        _email([address], subject, body, connection or get_connection(), delivery)
    _push_all(user, subject, body, delivery)
    return delivery


def notify_admins(template: str, context: dict, *, connection=None) -> Delivery:
    """One alert for the admins: one email to their addresses, and each
    admin's own channels (rendered in that admin's language)."""
    delivery = Delivery()
    addresses = admin_addresses()
    if addresses:
        subject, body = render(template, context, settings.LANGUAGE_CODE)
        _email(addresses, subject, body, connection or get_connection(), delivery)
    if channels_allowed():
        for admin in _admins_with_channels():
            subject, body = render(template, {**context, "user": admin}, language_of(admin))
            _push_all(admin, subject, body, delivery)
    if not (addresses or delivery.failed or delivery.reached):
        logger.warning("no address or channel for the admins' alert (ALERT_ADMIN_EMAILS)")
    return delivery
