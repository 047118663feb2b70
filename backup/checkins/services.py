"""The rules of check-ins: making and revoking addresses, recording what a
computer said, and what that means (ok, running, failed, stale)."""

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from backup.discovery import thresholds

from . import tokens
from .models import CheckIn

logger = logging.getLogger("backup.checkins")

Signal = CheckIn.Signal
MAX_PER_PERSON = 100


class TooMany(Exception):
    pass


@dataclass(frozen=True)
class Made:
    """A new check-in and its token, which exists only here and on the page
    that shows it once."""

    checkin: CheckIn
    token: str


def create(owner, name: str, period_hours: int) -> Made:
    if CheckIn.objects.filter(owner=owner).count() >= MAX_PER_PERSON:
        raise TooMany
    token = tokens.new()
    checkin = CheckIn.objects.create(
        owner=owner, name=name, period_hours=period_hours, token_hash=tokens.digest(token)
    )
    logger.info("check-in %s made for %s", tokens.shown(checkin.token_hash), owner.username)
    return Made(checkin, token)


def new_token(checkin: CheckIn) -> str:
    """A new address for the same computer; the old one stops working at once."""
    token = tokens.new()
    old = checkin.token_hash
    checkin.token_hash = tokens.digest(token)
    checkin.save(update_fields=["token_hash"])
    logger.info("check-in %s replaced by %s", tokens.shown(old), tokens.shown(checkin.token_hash))
    return token


def revoke(checkin: CheckIn) -> None:
    """Gone, not disabled: its token then answers exactly as one never made."""
    logger.info("check-in %s of %s revoked", tokens.shown(checkin.token_hash), checkin.owner)
    checkin.delete()


def signal_of(action: str | None) -> tuple[str, int | None] | None:
    """(signal, exit status) named by a ping URL's last part, or None when it
    names none: nothing, start, fail, log, or an exit status 0-255 (0 is a
    success, anything else a failure, as in Healthchecks)."""
    if action is None:
        return Signal.SUCCESS, None
    if action in (Signal.START, Signal.FAIL, Signal.LOG):
        return action, None
    if action.isascii() and action.isdigit() and len(action) <= 3 and int(action) <= 255:
        status = int(action)
        return (Signal.SUCCESS if status == 0 else Signal.FAIL), status
    return None


def record(
    token: str, signal: str, exit_status: int | None, log: str, truncated: bool, has_body: bool
) -> bool:
    """Records one check-in; False when no check-in has this token.

    One conditional UPDATE by the token's hash: no read first, so a flood of
    check-ins costs one statement each and two at once can't lose either."""
    now = timezone.now()
    changes = {
        "last_signal": signal,
        "last_signal_at": now,
        "check_ins": F("check_ins") + 1,
    }
    if signal == Signal.START:
        changes["started_at"] = now
    elif signal == Signal.SUCCESS:
        changes.update(last_success_at=now, started_at=None, last_exit_status=exit_status)
    elif signal == Signal.FAIL:
        changes.update(
            last_failure_at=now, started_at=None, last_exit_status=exit_status, failure_log=log
        )
    if has_body:
        changes.update(
            last_log=log, last_log_signal=signal, last_log_at=now, last_log_truncated=truncated
        )
    with transaction.atomic():
        found = CheckIn.objects.filter(token_hash=tokens.digest(token)).update(**changes)
    return found == 1


# What a computer's check-ins say, for the dashboard and the alerts.
OK, RUNNING, FAILED, STALE, STALLED, WAITING = (
    "ok",
    "running",
    "failed",
    "stale",
    "stalled",
    "waiting",
)
ALERTING = (FAILED, STALE, STALLED)


def run_max_age() -> datetime.timedelta:
    return datetime.timedelta(hours=settings.IN_PROGRESS_STALLED_AFTER_HOURS)


def status_of(checkin: CheckIn, now: datetime.datetime) -> str:
    """Failed: the last word was a failure. Stalled: started and never
    finished within IN_PROGRESS_STALLED_AFTER_HOURS (the scan's rule).
    Stale: no success within its period (counted from its making until the
    first one). Running: started, recently. Waiting: new, never heard from,
    still within its first period."""
    period = datetime.timedelta(hours=checkin.period_hours)
    success, failure = checkin.last_success_at, checkin.last_failure_at
    started = checkin.started_at
    # A failure is the last word unless a new run started after it.
    if (
        failure is not None
        and (success is None or failure > success)
        and (started is None or started < failure)
    ):
        return FAILED
    if started is not None and now - started > run_max_age():
        return STALLED
    if now - (success or checkin.created_at) > period:
        return STALE
    if started is not None:
        return RUNNING
    return WAITING if success is None else OK


def badge(status: str) -> tuple:
    """(label, Bootstrap class), the scan's badges where they mean the same."""
    return {
        OK: thresholds.BADGES[thresholds.OK],
        RUNNING: thresholds.BADGES[thresholds.IN_PROGRESS],
        FAILED: thresholds.BADGES[thresholds.FAILED],
        STALE: thresholds.BADGES[thresholds.STALE],
        STALLED: thresholds.BADGES[thresholds.STALLED],
        WAITING: thresholds.BADGES[thresholds.NO_BACKUP],
    }[status]
