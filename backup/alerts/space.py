"""Space alerts, checked after each usage collection (update_df_stats):
a volume's owner as its use passes each of NEAR_QUOTA_PERCENTS, and the
admins as the pool's allocated or used share passes its threshold. Each is
said once, and again only after the figure has dropped below it.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from backup.core.sizes import binary_size
from backup.core.times import iso
from backup.operations import records
from backup.operations.models import Operation
from backup.volumes.models import Volume, quota_for

from .delivery import (
    OVERDUE,
    Delivery,
    has_destination,
    link,
    notify_admins,
    notify_person,
    retry_pending,
)
from .models import PoolAlert, QuotaAlert

logger = logging.getLogger("backup.alerts")

# Sizes in alerts: the portal's one size formatter.
_size = binary_size


def passed(percent: float, thresholds) -> int | None:
    """The highest threshold ``percent`` has reached, or None."""
    return max((threshold for threshold in thresholds if percent >= threshold), default=None)


def _percent(part, whole) -> float:
    return 100 * part / whole if whole else 0.0


def check_volumes(usage: dict, now=None) -> list[tuple[str, int]]:
    """``usage``: account -> (total bytes, used bytes) of the mounted volumes.
    Alerts each owner whose volume passed a new threshold; returns
    (account, threshold) for each alert delivered or kept to be tried again."""
    now = now or timezone.now()
    thresholds = sorted(settings.NEAR_QUOTA_PERCENTS)
    told = []
    volumes = Volume.objects.select_related("owner").filter(
        account__in=list(usage), suspended_at__isnull=True
    )
    states = {state.volume_id: state for state in QuotaAlert.objects.filter(volume__in=volumes)}
    for volume in volumes:
        total, used = usage[volume.account]
        reached = passed(_percent(used, total), thresholds)
        state = states.get(volume.pk)
        if reached is None:
            if state:
                state.delete()  # dropped below every threshold: all re-armed
            continue
        if state is not None and reached <= state.threshold:
            if reached < state.threshold:  # dropped below it: it may be said again
                QuotaAlert.objects.filter(pk=state.pk).update(threshold=reached)
            continue
        owner = volume.owner
        if not owner.is_active or not has_destination(owner):
            continue
        delivery = _tell_owner(volume, total, used, thresholds)
        # Kept for another attempt counts as said: retry_pending sends it,
        # and saying it again from here would pile up copies while mail is down.
        if delivery.handled:
            QuotaAlert.objects.update_or_create(
                volume=volume, defaults={"threshold": reached, "notified_at": now}
            )
            told.append((volume.account, reached))
    return told


def _tell_owner(volume: Volume, total: int, used: int, thresholds) -> Delivery:
    quota = quota_for(volume.owner)
    context = {
        "account": volume.account,
        "percent": int(_percent(used, total)),
        "used": _size(used),
        "size": _size(total),
        "free": _size(max(total - used, 0)),
        "can_grow": volume.size_gib < quota,
        "quota": quota,
        "thresholds": ", ".join(str(threshold) for threshold in thresholds),
        "support_contact": settings.SUPPORT_CONTACT,
        "dashboard_url": link("dashboard:home"),
    }
    return notify_person(volume.owner, "alerts/email/near_quota", context)


@dataclass(frozen=True)
class PoolWarning:
    measure: str  # "allocated", "used" or "free"
    percent: int
    threshold: int


def _pool_thresholds():
    return (
        (PoolAlert.Measure.ALLOCATED, "allocated_bytes", settings.POOL_WARN_ALLOCATED_PERCENT),
        (PoolAlert.Measure.USED, "used_bytes", settings.POOL_WARN_USED_PERCENT),
    )


def pool_warnings(pool: dict) -> list[PoolWarning]:
    """The thresholds the pool (wrapper figures: size_bytes, allocated_bytes,
    used_bytes) is past now."""
    size = int(pool.get("size_bytes") or 0)
    warnings = []
    for measure, key, threshold in _pool_thresholds():
        percent = _percent(int(pool.get(key) or 0), size)
        if size and percent >= threshold:
            warnings.append(PoolWarning(str(measure), int(percent), threshold))
    return warnings


def check_pool(pool: dict, now=None) -> list[PoolWarning]:
    """Alert the admins of each pool threshold newly passed; re-arm those the
    pool dropped below. Returns the warnings announced."""
    now = now or timezone.now()
    current = {warning.measure: warning for warning in pool_warnings(pool)}
    PoolAlert.objects.exclude(measure__in=list(current)).delete()
    claimed = []
    for measure, warning in current.items():
        # The row is the claim: a second run at the same moment can't announce it too.
        try:
            with transaction.atomic():
                PoolAlert.objects.create(measure=measure, percent=warning.percent, notified_at=now)
        except IntegrityError:
            continue
        claimed.append(warning)
    if not claimed:
        return []
    context = {
        "crossed": claimed,
        "size": _size(int(pool.get("size_bytes") or 0)),
        "allocated": _size(int(pool.get("allocated_bytes") or 0)),
        "used": _size(int(pool.get("used_bytes") or 0)),
        "free": _size(int(pool.get("free_bytes") or 0)),
        "overview_url": link("staff:overview"),
    }
    delivery = notify_admins("alerts/email/pool_threshold", context)
    if not delivery.handled:
        # Nobody to tell: give the claims back so that the next run tries again.
        PoolAlert.objects.filter(measure__in=[warning.measure for warning in claimed]).delete()
        logger.error("pool alert reached no admin: %s", delivery.failed or "no address")
        return []
    return claimed


def recent_pool_refusals(since) -> int:
    """How many Create/Add space requests were refused for a full pool since ``since``."""
    return Operation.objects.filter(
        requested_at__gte=since, parameters__refused=records.REFUSED_POOL_FULL
    ).count()


def after_collection(report) -> None:
    """update_df_stats' alerts, from the figures it just read (collect.Report),
    then another attempt at every alert (of any kind) that reached nobody.
    A failure to send is reported (cron mails it), never stops the collection;
    an alert undelivered for longer than OVERDUE fails the job."""
    try:
        check_volumes(report.usage)
        if report.pool is not None:
            check_pool(report.pool)
    except Exception as error:  # the figures are recorded; the alerts try again next run
        logger.exception("space alerts failed")
        report.problems.append(f"space alerts: {type(error).__name__}: {error}")
    retry_undelivered(report)


def _who(pending) -> str:
    return pending.user.username if pending.user_id else "the admins"


def retry_undelivered(report) -> None:
    """retry_pending, its outcome on the report: each alert given up named,
    and the job failed while one is overdue."""
    try:
        run = retry_pending()
    except Exception as error:
        logger.exception("retrying undelivered alerts failed")
        report.fail(f"undelivered alerts not retried: {type(error).__name__}: {error}")
        return
    for pending in run.given_up:
        report.problems.append(
            f"alert {pending.subject!r} for {_who(pending)} given up after "
            f"{pending.attempts} attempts: {pending.last_error}"
        )
    if run.overdue:
        oldest = run.overdue[0]
        report.add("alert(s) undelivered")
        report.fail(
            f"{len(run.overdue)} alert(s) undelivered for more than "
            f"{int(OVERDUE.total_seconds() // 60)} minutes; the oldest, {oldest.subject!r} "
            f"for {_who(oldest)} since {iso(oldest.created_at)}, "
            f"{oldest.attempts} attempts, last: {oldest.last_error}"
        )
