"""A person's alert channels: adding, removing, email on or off, testing."""

import datetime
import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import channels, delivery
from .models import AlertPreference, Channel

logger = logging.getLogger("backup.alerts")

TEST_INTERVAL = datetime.timedelta(minutes=1)


def email_on(user) -> bool:
    preference = AlertPreference.objects.filter(user=user).first()
    return preference is None or preference.email


def add_channel(user, url: str) -> Channel:
    """``url`` was validated by ChannelForm."""
    channel = Channel.objects.create(user=user, url=url)
    logger.info("%s added alert channel %s", user.username, channels.redacted(url))
    return channel


def remove_channel(user, channel_id: int) -> bool:
    """Remove one of ``user``'s channels; the last one going turns email back
    on, so that alerts still reach them. False when there was no such channel."""
    with transaction.atomic():
        channel = Channel.objects.filter(user=user, pk=channel_id).first()
        if channel is None:
            return False
        channel.delete()
        if not Channel.objects.filter(user=user).exists():
            AlertPreference.objects.filter(user=user).update(email=True)
    logger.info("%s removed alert channel %s", user.username, channels.redacted(channel.url))
    return True


def set_email(user, on: bool) -> None:
    """``on`` was validated by EmailForm (off only while a channel exists)."""
    AlertPreference.objects.update_or_create(user=user, defaults={"email": on})


def claim_test(user, now=None) -> bool:
    """The right to send a test alert now: at most one per TEST_INTERVAL."""
    now = now or timezone.now()
    preference, _ = AlertPreference.objects.get_or_create(user=user)
    due = Q(tested_at__isnull=True) | Q(tested_at__lte=now - TEST_INTERVAL)
    return AlertPreference.objects.filter(due, pk=preference.pk).update(tested_at=now) == 1


def send_test(user) -> delivery.Delivery:
    return delivery.notify_person(
        user,
        "alerts/email/test",
        {"channels_url": delivery.link("alerts:channels")},
        retry=False,
    )
