"""Check-in alerts, sent by the daily stale-backup job (send_backup_alerts):
one message to each person with a computer whose check-ins say failed,
stalled (started, never finished) or stale (no success within its period),
listing them all, at most once per ALERT_INTERVAL, like the scan's alert.
Sent through backup.alerts (email and the person's channels)."""

import datetime
import logging
from dataclasses import dataclass, field
from itertools import groupby

from django.core.mail import get_connection
from django.db.models import Q
from django.utils import timezone

from backup.alerts.delivery import has_destination, link, notify_person

from . import dashboard, services
from .models import CheckIn, CheckInAlertSent

logger = logging.getLogger("backup.checkins")

ALERT_INTERVAL = datetime.timedelta(hours=24)


@dataclass
class AlertRun:
    alerted: list = field(default_factory=list)  # user names
    not_due: list = field(default_factory=list)
    no_address: list = field(default_factory=list)
    failed: list = field(default_factory=list)  # (recipient, why)


def alerting(now: datetime.datetime) -> list[tuple]:
    """(user, [dashboard.Computer…]) for everyone with an alerting check-in."""
    checkins = CheckIn.objects.select_related("owner").order_by("owner_id", "name", "pk")
    found = []
    for _, group in groupby(checkins, key=lambda checkin: checkin.owner_id):
        computers = [
            dashboard.Computer(checkin, services.status_of(checkin, now), now) for checkin in group
        ]
        behind = [computer for computer in computers if computer.alerts]
        if behind:
            found.append((behind[0].checkin.owner, behind))
    return found


def _due(now):
    return Q(sent_at__isnull=True) | Q(sent_at__lte=now - ALERT_INTERVAL)


def _claim(user, now) -> tuple[bool, datetime.datetime | None]:
    record, _ = CheckInAlertSent.objects.get_or_create(user=user)
    claimed = CheckInAlertSent.objects.filter(_due(now), pk=record.pk).update(
        sent_at=now.replace(second=0, microsecond=0)
    )
    return claimed == 1, record.sent_at


def send_alerts(now: datetime.datetime | None = None, dry_run: bool = False) -> AlertRun:
    now = now or timezone.now()
    run = AlertRun()
    connection = None
    for user, computers in alerting(now):
        if not user.is_active:
            continue
        if not has_destination(user):
            run.no_address.append(user.username)
            continue
        if dry_run:
            due = not CheckInAlertSent.objects.filter(user=user).exclude(_due(now)).exists()
            (run.alerted if due else run.not_due).append(user.username)
            continue
        claimed, previous = _claim(user, now)
        if not claimed:
            run.not_due.append(user.username)
            continue
        connection = connection or get_connection()
        context = {"computers": computers, "dashboard_url": link("dashboard:home", "#computers")}
        delivery = notify_person(user, "checkins/email/alert", context, connection=connection)
        if delivery.delivered:
            run.alerted.append(user.username)
        else:
            # Reached nobody: give the claim back, so the next run tries again.
            CheckInAlertSent.objects.filter(user=user).update(sent_at=previous)
            reason = "; ".join(why for _channel, why in delivery.failed) or "no address or channel"
            run.failed.append((f"user:{user.username}", reason))
    return run
