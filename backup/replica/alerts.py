"""The second server's alerts to the admins, checked after each report is
fetched (update_df_stats): once when a volume falls behind, once when the
replica falls silent (or reports that it can't reach the primary). Each is
said once, like the pool's thresholds: the ReplicaAlert row is the claim,
and it goes (re-arming the alert) when the volume catches up or the
replica reports again. An alert that reaches nobody now is kept and retried
by the alerts' own PendingAlert machinery; with nobody to tell at all, the
claim is given back so the next run tries again.
"""

import datetime
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from backup.alerts.delivery import link, notify_admins

from . import services
from .models import ReplicaAlert

logger = logging.getLogger("backup.alerts")

Kind = ReplicaAlert.Kind


def _claim(kind: str, accounts: list[str], now: datetime.datetime) -> list[str]:
    claimed = []
    for account in accounts:
        try:
            with transaction.atomic():
                ReplicaAlert.objects.create(kind=kind, account=account, notified_at=now)
        except IntegrityError:
            continue
        claimed.append(account)
    return claimed


def _hours(lag: datetime.timedelta | None) -> str:
    return f"{lag.total_seconds() / 3600:.1f}" if lag is not None else "?"


def _tell(kind: str, claimed: list[str], template: str, context: dict) -> list[str]:
    delivery = notify_admins(template, {**context, "overview_url": link("staff:overview")})
    if not delivery.handled:
        ReplicaAlert.objects.filter(kind=kind, account__in=claimed).delete()
        logger.error("replica alert reached no admin: %s", delivery.failed or "no address")
        return []
    return claimed


def check_behind(state: services.ReplicaState, now: datetime.datetime) -> list[str]:
    """Alert the volumes newly behind; re-arm those that caught up."""
    behind = {volume.account: volume for volume in state.behind}
    ReplicaAlert.objects.filter(kind=Kind.BEHIND).exclude(account__in=list(behind)).delete()
    claimed = _claim(Kind.BEHIND, sorted(behind), now)
    if not claimed:
        return []
    volumes = [
        {"account": account, "hours": _hours(behind[account].lag), "newest": behind[account].newest}
        for account in claimed
    ]
    limit = 2 * services.interval().total_seconds() / 3600
    context = {"volumes": volumes, "limit_hours": f"{limit:g}"}
    return _tell(Kind.BEHIND, claimed, "replica/email/behind", context)


def check_silence(state: services.ReplicaState, now: datetime.datetime) -> bool:
    """Alert once when the replica stops reporting or can't reach the
    primary; re-arm when it reports again, reachable."""
    if not state.unreachable:
        ReplicaAlert.objects.filter(kind=Kind.UNREACHABLE).delete()
        return False
    if not _claim(Kind.UNREACHABLE, [""], now):
        return False
    report = state.report
    context = {
        "last_report": report.received_at if report else None,
        "hours": _hours(state.silent_for),
        "error": report.error if report and not report.reachable else "",
    }
    return bool(_tell(Kind.UNREACHABLE, [""], "replica/email/unreachable", context))


def on_space_collected(sender: object, report, **kwargs: object) -> None:
    """update_df_stats' signal (backup.stats.signals)."""
    after_collection(report)


def after_collection(report, now: datetime.datetime | None = None) -> None:
    """update_df_stats' step: fetch the replica's report, store it when new,
    then its alerts. A failure is the run's problem (cron mails it), never
    stops the collection."""
    if not services.enabled():
        return
    try:
        services.refresh()
    except Exception as error:
        logger.exception("the replica's report was not stored")
        report.problems.append(f"replica report: {type(error).__name__}: {error}")
    try:
        now = now or timezone.now()
        state = services.state(now)
        if state is not None:
            # A silent replica's copies all fall behind together: the one
            # silence alert says it, not a second one naming every volume.
            if not state.unreachable:
                check_behind(state, now)
            check_silence(state, now)
    except Exception as error:
        logger.exception("replica alerts failed")
        report.problems.append(f"replica alerts: {type(error).__name__}: {error}")
