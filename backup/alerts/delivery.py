"""The one way every alert leaves the portal (stale backups, mass changes,
near-quota, pool thresholds, deleted volumes): by email unless the person
turned it off, and to each of their push or webhook channels. One channel
failing is recorded (on the channel and in the log) and never stops the
others.

An alert that reaches nobody (the mail server down and every channel
failing) is not lost: it is kept as rendered (PendingAlert) and tried again
by ``retry_pending``, which update_df_stats runs every five minutes, with a
growing wait (RETRY_FIRST doubling up to RETRY_LONGEST) until it reaches
someone or RETRY_FOR has passed; each attempt is counted and its error
kept. While one has been undelivered for longer than OVERDUE, that job exits
non-zero, so cron's mail or the systemd unit's state shows it.

Each message is rendered in its reader's language.
"""

import datetime
import logging
import sys
from dataclasses import dataclass, field
from urllib.parse import urljoin

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils import timezone, translation

from backup.operations import results
from backup.pages.languages import language_of
from backup.pages.zones import zone_of

from . import channels
from .models import AlertPreference, Channel, PendingAlert

logger = logging.getLogger("backup.alerts")

EMAIL = "email"
# The waits between attempts at an alert that reached nobody, and how long
# it is tried at all (bounded: about 75 attempts).
RETRY_FIRST = datetime.timedelta(minutes=5)
RETRY_LONGEST = datetime.timedelta(hours=1)
RETRY_FOR = datetime.timedelta(hours=72)
# Undelivered for longer than this: the scheduled job fails visibly.
OVERDUE = datetime.timedelta(hours=1)
# An attempt in progress holds its alert this long (two runs at once).
ATTEMPT_LEASE = datetime.timedelta(minutes=2)
# Attempts per run, the longest-waiting first: with the mail server down each
# costs a refused connection and a database write (about 40 ms), and the
# collection that runs them must still finish in its five minutes.
MAX_ATTEMPTS_PER_RUN = 50
# Delivered or given-up alerts stay listed (Django's admin) this long.
KEEP_FOR = datetime.timedelta(days=30)


@dataclass
class Delivery:
    """Where one alert went: the channels reached, and (channel, why) failed.
    ``queued``: it reached nobody now and will be tried again (PendingAlert)."""

    reached: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    queued: bool = False

    @property
    def delivered(self) -> bool:
        """Reached someone now."""
        return bool(self.reached)

    @property
    def handled(self) -> bool:
        """Reached someone now, or kept to be tried again until it does: a
        caller that sees this must not send the alert again itself."""
        return bool(self.reached) or self.queued


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


def link(view: str, query: str = "", *, args: tuple = ()) -> str:
    """An absolute link to a page of the portal, for an alert."""
    base = settings.PORTAL_URL or (
        f"https://{settings.SERVER_HOSTNAME}{settings.FORCE_SCRIPT_NAME or ''}/"
    )
    # reverse() includes the script prefix, which PORTAL_URL already holds.
    path = reverse(view, args=args).removeprefix(get_script_prefix())
    return urljoin(base if base.endswith("/") else f"{base}/", path) + query


def render(template: str, context: dict, language: str, zone: str | None = None) -> tuple[str, str]:
    """(subject, body) of ``template``_subject.txt and ``template``.txt, in
    ``language`` with times in ``zone`` (default: the site's)."""
    with translation.override(language), timezone.override(zone or settings.TIME_ZONE):
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
            # Facts are kept to be told in the reader's language; the text
            # (the site's language) is for the log and the admin.
            facts = error if isinstance(error, dict) else {}
            if facts:
                told = results.render(facts, owner_name=user.username)
                text = results.stored_text(facts, owner_name=user.username)
            else:
                told = text = str(error)
            channel.last_failed_at = now
            channel.last_error, channel.last_error_facts = text[: channels.MAX_ERROR_LENGTH], facts
            channel.save(update_fields=["last_failed_at", "last_error", "last_error_facts"])
            delivery.failed.append((shown, told))
            logger.warning("alert %r to %s via %s failed: %s", subject, user.username, shown, told)


def _to_person(user, subject, body, connection) -> Delivery:
    delivery = Delivery()
    address = address_of(user)
    if wants_email(user) and address:
        _email([address], subject, body, connection or get_connection(), delivery)
    _push_all(user, subject, body, delivery)
    return delivery


def _to_admins(messages: dict, connection) -> Delivery:
    """``messages``: "" -> (subject, body) for the admins' email, and each
    admin's name -> the same in their language, for their channels."""
    delivery = Delivery()
    addresses = admin_addresses()
    if addresses:
        subject, body = messages[""]
        _email(addresses, subject, body, connection or get_connection(), delivery)
    if channels_allowed():
        for admin in _admins_with_channels():
            subject, body = messages.get(admin.username) or messages[""]
            _push_all(admin, subject, body, delivery)
    return delivery


def notify_person(
    user, template: str, context: dict, *, connection=None, retry: bool = True
) -> Delivery:
    """Send one alert to ``user`` through every channel they chose; when it
    reaches none of them, keep it to be tried again (unless ``retry`` is off:
    a test alert is about now)."""
    subject, body = render(template, {**context, "user": user}, language_of(user), zone_of(user))
    delivery = _to_person(user, subject, body, connection)
    if retry:
        _keep_if_unsent(delivery, user, template, {"": [subject, body]})
    return delivery


def notify_admins(template: str, context: dict, *, connection=None) -> Delivery:
    """One alert for the admins: one email to their addresses, and each
    admin's own channels (rendered in that admin's language); kept to be
    tried again when it reaches none of them."""
    messages = {"": list(render(template, context, settings.LANGUAGE_CODE))}
    if channels_allowed():
        for admin in _admins_with_channels():
            messages[admin.username] = list(
                render(template, {**context, "user": admin}, language_of(admin), zone_of(admin))
            )
    delivery = _to_admins(messages, connection)
    if not (delivery.failed or delivery.reached):
        logger.warning("no address or channel for the admins' alert (ALERT_ADMIN_EMAILS)")
    _keep_if_unsent(delivery, None, template, messages)
    return delivery


def _errors(delivery: Delivery) -> str:
    return "; ".join(f"{where}: {why}" for where, why in delivery.failed)[:500]


def _keep_if_unsent(delivery: Delivery, user, template: str, messages: dict) -> None:
    """An alert that was tried and reached nobody is kept for retry_pending.
    One with no destination at all is not: there is nobody to try again."""
    if delivery.reached or not delivery.failed:
        return
    now = timezone.now()
    PendingAlert.objects.create(
        user=user,
        template=template,
        messages=messages,
        created_at=now,
        last_attempt_at=now,
        next_attempt_at=now + RETRY_FIRST,
        last_error=_errors(delivery),
    )
    delivery.queued = True
    logger.error(
        "alert %r reached nobody (%s); it will be tried again",
        messages[""][0],
        _errors(delivery),
    )


@dataclass
class RetryRun:
    delivered: list = field(default_factory=list)  # PendingAlert
    failed: list = field(default_factory=list)
    given_up: list = field(default_factory=list)
    overdue: list = field(default_factory=list)  # still undelivered after OVERDUE


def _wait_after(attempts: int) -> datetime.timedelta:
    return min(RETRY_FIRST * 2 ** min(max(attempts - 1, 0), 10), RETRY_LONGEST)


def retry_pending(now=None, *, connection=None) -> RetryRun:
    """Try again each kept alert that is due; returns what happened and
    which alerts are now overdue (undelivered for longer than OVERDUE)."""
    now = now or timezone.now()
    run = RetryRun()
    waiting = PendingAlert.objects.filter(delivered_at__isnull=True, gave_up_at__isnull=True)
    due = waiting.filter(next_attempt_at__lte=now).order_by("next_attempt_at", "id")
    for pending in due.select_related("user")[:MAX_ATTEMPTS_PER_RUN]:
        # Claimed by moving its next attempt: a second run at once skips it.
        claimed = PendingAlert.objects.filter(
            pk=pending.pk, next_attempt_at=pending.next_attempt_at, delivered_at__isnull=True
        ).update(next_attempt_at=now + ATTEMPT_LEASE)
        if not claimed:
            continue
        _attempt(pending, now, connection, run)
    run.overdue = list(waiting.filter(created_at__lte=now - OVERDUE))
    PendingAlert.objects.filter(
        Q(delivered_at__lt=now - KEEP_FOR) | Q(gave_up_at__lt=now - KEEP_FOR)
    ).delete()
    return run


def _attempt(pending: PendingAlert, now, connection, run: RetryRun) -> None:
    if pending.user_id is None:
        delivery = _to_admins(pending.messages, connection)
    elif pending.user is not None and pending.user.is_active:
        subject, body = pending.messages[""]
        delivery = _to_person(pending.user, subject, body, connection)
    else:
        delivery = Delivery(failed=[("-", "the person's account was deactivated")])
    pending.attempts += 1
    pending.last_attempt_at = now
    if delivery.reached:
        pending.delivered_at = now
        run.delivered.append(pending)
        logger.info(
            "alert %r delivered at attempt %d to %s",
            pending.subject,
            pending.attempts,
            ", ".join(delivery.reached),
        )
    else:
        pending.last_error = _errors(delivery) or "no address or channel"
        pending.next_attempt_at = now + _wait_after(pending.attempts)
        if now - pending.created_at >= RETRY_FOR:
            pending.gave_up_at = now
            run.given_up.append(pending)
            logger.error(
                "alert %r given up after %d attempts: %s",
                pending.subject,
                pending.attempts,
                pending.last_error,
            )
        else:
            run.failed.append(pending)
            logger.warning(
                "alert %r still reached nobody (attempt %d): %s",
                pending.subject,
                pending.attempts,
                pending.last_error,
            )
    pending.save(
        update_fields=[
            "attempts",
            "last_attempt_at",
            "next_attempt_at",
            "last_error",
            "delivered_at",
            "gave_up_at",
        ]
    )
