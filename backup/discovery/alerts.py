"""Stale-backup alerts (send_backup_alerts, daily): one alert to each person
whose computers are stale, listing them all, at most once per ALERT_INTERVAL;
and one summary for the admins. Read from the stored scans only; sent
through backup.alerts (email and each person's channels).
"""

import datetime
import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.db.models import Q
from django.utils import timezone

from backup.alerts.delivery import (
    admins_reachable,
    has_destination,
    link,
    notify_admins,
    notify_person,
)
from backup.volumes.models import Volume

from . import dashboard, thresholds
from .models import AlertSent, BackupScan

logger = logging.getLogger("backup.discovery")

ALERT_INTERVAL = datetime.timedelta(hours=24)
ADMINS = "admins"
SENT, NOT_DUE, FAILED = "sent", "not due", "failed"


@dataclass
class StaleVolume:
    volume: Volume
    machines: list  # dashboard.Machine, the stale ones
    days: int


@dataclass
class Findings:
    """What the stored scans say now, for everyone."""

    stale: list = field(default_factory=list)  # StaleVolume
    never_used: list = field(default_factory=list)  # Volume
    outdated: list = field(default_factory=list)  # (Volume, last scan or None)


@dataclass
class AlertRun:
    emailed: list = field(default_factory=list)  # user names
    not_due: list = field(default_factory=list)  # alerted less than ALERT_INTERVAL ago
    no_address: list = field(default_factory=list)
    failed: list = field(default_factory=list)  # (recipient, error)
    summary_sent: bool = False
    findings: Findings = field(default_factory=Findings)


def findings(now):
    found = Findings()
    # The lists are read only for the volumes that have a stale computer.
    scans = {scan.volume_id: scan for scan in BackupScan.objects.defer("sources", "unrecognised")}
    volumes = Volume.objects.select_related("owner__backup_preference").order_by("account")
    for volume in volumes:
        scan = scans.get(volume.pk)
        scanned_at = scan.scanned_at if scan else None
        if scan is None or scanned_at is None or now - scanned_at > thresholds.SCAN_OUTDATED_AFTER:
            # No news is not "no backups": don't alert from an old scan.
            if now - volume.created_at > thresholds.SCAN_OUTDATED_AFTER:
                found.outdated.append((volume, scanned_at))
            continue
        empty = not (scan.source_count or scan.unrecognised_count or scan.truncated)
        if thresholds.never_used(True, empty, volume.created_at, now):
            found.never_used.append(volume)
        preference = getattr(volume.owner, "backup_preference", None)
        days = preference.stale_after_days if preference else settings.STALE_AFTER_DAYS
        stale_before = thresholds.stale_cutoff(days, now)
        stalled_before = thresholds.stalled_cutoff(now)
        if not (
            (scan.oldest_backup is not None and scan.oldest_backup < stale_before)
            or (scan.oldest_in_progress is not None and scan.oldest_in_progress < stalled_before)
        ):
            continue
        stale = [machine for machine in dashboard.machines(scan, days, now) if machine.alerts]
        if stale:
            found.stale.append(StaleVolume(volume, stale, days))
    return found


def _due(now):
    return Q(sent_at__isnull=True) | Q(sent_at__lte=now - ALERT_INTERVAL)


def _is_due(recipient, now):
    return not AlertSent.objects.filter(recipient=recipient).exclude(_due(now)).exists()


def _claim(recipient, now):
    """Take the right to alert ``recipient`` now: (claimed, previous time).
    Not claimed when it was used less than ALERT_INTERVAL ago.

    Recorded to the minute: a daily timer fires at the same minute each day
    but a few seconds earlier or later, which must not count as a repeat.
    """
    record, _ = AlertSent.objects.get_or_create(recipient=recipient)
    claimed = AlertSent.objects.filter(_due(now), pk=record.pk).update(
        sent_at=now.replace(second=0, microsecond=0)
    )
    return claimed == 1, record.sent_at


def _release(recipient, previous):
    AlertSent.objects.filter(recipient=recipient).update(sent_at=previous)


def _send(recipient, user, name, context, now, run, connection):
    """Claim, then send (to ``user``, or the admins when None); a send that
    reached nobody and was not kept for retry gives the claim back."""
    claimed, previous = _claim(recipient, now)
    if not claimed:
        return NOT_DUE
    template = f"discovery/email/{name}"
    if user is None:
        delivery = notify_admins(template, context, connection=connection)
    else:
        delivery = notify_person(user, template, context, connection=connection)
    if not delivery.delivered:
        reason = "; ".join(why for _channel, why in delivery.failed) or "no address or channel"
        if delivery.queued:
            # Kept by the delivery path, which tries it again: the claim
            # stays, or a later run would send it a second time.
            reason += " (kept to be tried again)"
        else:
            _release(recipient, previous)
        run.failed.append((recipient, reason))
        return FAILED
    return SENT


def send_alerts(now=None, dry_run=False):
    """Email each person with stale computers, then the admins; returns an
    AlertRun. With dry_run nothing is sent or recorded."""
    now = now or timezone.now()
    run = AlertRun(findings=findings(now))
    connection = get_connection()
    dashboard_url = link("dashboard:home", "#your-backups")

    def deliver(recipient, user, name, context):
        if dry_run:
            return SENT if _is_due(recipient, now) else NOT_DUE
        return _send(recipient, user, name, context, now, run, connection)

    for item in run.findings.stale:
        user = item.volume.owner
        if not user.is_active:
            continue  # someone who left: the admins' summary still lists the volume
        if not has_destination(user):
            run.no_address.append(user.username)
            continue
        person_context = {
            "item": item,
            "dashboard_url": dashboard_url,
            "machines": [
                (machine, link("discovery:delete", f"?{machine.delete_query}"))
                for machine in item.machines
            ],
        }
        outcome = deliver(f"user:{user.username}", user, "stale_alert", person_context)
        if outcome == SENT:
            run.emailed.append(user.username)
        elif outcome == NOT_DUE:
            run.not_due.append(user.username)
    found = run.findings
    if not (found.stale or found.never_used or found.outdated or run.no_address):
        return run
    if not admins_reachable():
        logger.warning("no address for the admins' backup summary (ALERT_ADMIN_EMAILS)")
        return run
    context: dict[str, Any] = {
        "findings": found,
        "no_address": run.no_address,
        "never_used_days": settings.NEVER_USED_AFTER_DAYS,
        "outdated_hours": int(thresholds.SCAN_OUTDATED_AFTER.total_seconds() // 3600),
        "stale_count": sum(len(item.machines) for item in found.stale),
        "stale_url": link("staff:overview", "?backups=stale"),
        "never_used_url": link("staff:overview", "?backups=never"),
    }
    run.summary_sent = deliver(ADMINS, None, "admin_summary", context) == SENT
    return run
