"""Running fetch_backups.py and storing what it found.

Scans run outside web requests: from the periodic command (scan_all), in
the task worker when the owner presses "Check now" (an operation, so one at
a time per volume and never more than one queued), and after operations
that change what a volume holds (signals).
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backup.core.errors import UserFacingError
from backup.core.times import iso, parse_time
from backup.operations import records, results
from backup.operations import services as operations
from backup.operations.errors import OperationInProgress
from backup.operations.models import Operation
from backup.privileged import commands
from backup.privileged.client import PrivilegedError
from backup.privileged.results import BackupReport, SkippedScan, VolumeBackupReport
from backup.volumes import status
from backup.volumes.models import Volume

from .cleaning import ScanFailed, clean
from .models import BackupScan

logger = logging.getLogger("backup.discovery")

# Volumes stored per transaction by the periodic scan.
STORE_BATCH = 100


class CheckRefused(UserFacingError):
    """ "Check now" was not started; ``message`` says why, for the user."""


def _in_progress_since(volume, sources, scanned_at):
    """Each source in progress keeps the start its own evidence gave (a lock
    file, a temporary bundle, a partial set: the wrapper's
    in_progress_since), else the time it was first seen so, carried over
    from the previous scan while it stays in progress; the earliest wins, so
    that a backup abandoned before the first scan saw it is stalled when it
    is, not a day later."""
    previous = BackupScan.objects.filter(volume=volume).values_list("sources", flat=True).first()
    seen = {
        (item.get("format"), item.get("path"), item.get("machine")): item.get("in_progress_since")
        for item in previous or []
        if isinstance(item, dict) and item.get("state") == "in_progress"
    }
    for source in sources:
        if source["state"] == "in_progress":
            since = parse_time(seen.get((source["format"], source["path"], source["machine"])))
            own = parse_time(source.get("in_progress_since"))
            known = [when for when in (since, own, scanned_at) if when is not None]
            source["in_progress_since"] = iso(min(known))
    return [
        when
        for source in sources
        if "in_progress_since" in source
        and (when := parse_time(source["in_progress_since"])) is not None
    ]


def store(volume: Volume, report: BackupReport) -> BackupScan:
    """Record fetch_backups.py's report as the volume's latest scan."""
    found = clean(report, volume.account)
    dated = [
        when for source in found.sources if (when := parse_time(source["last_backup"])) is not None
    ]
    # A copy keeps no versions and is never stale (thresholds): the admin
    # table's oldest backup, which its stale filter reads, leaves it out.
    versioned = [
        when
        for source in found.sources
        if source["evidence"] != "copy" and (when := parse_time(source["last_backup"])) is not None
    ]
    running = _in_progress_since(volume, found.sources, found.scanned_at)
    scan, _created = BackupScan.objects.update_or_create(
        volume=volume,
        defaults={
            "scanned_at": found.scanned_at,
            "truncated": found.truncated,
            "sources": found.sources,
            "unrecognised": found.unrecognised,
            "source_count": len(found.sources) + found.more_sources,
            "unrecognised_count": len(found.unrecognised) + found.more_unrecognised,
            "more_sources": found.more_sources,
            "more_unrecognised": found.more_unrecognised,
            "newest_backup": max(dated, default=None),
            "oldest_backup": min(versioned, default=None),
            "oldest_in_progress": min(running, default=None),
            "failed_at": None,
            "failure": "",
        },
    )
    return scan


def record_failure(volume: Volume, reason: str, now=None) -> None:
    """Note a failed attempt, keeping what the last success found."""
    BackupScan.objects.update_or_create(
        volume=volume,
        defaults={"failed_at": now or timezone.now(), "failure": reason[:300]},
    )


def refresh(volume: Volume) -> BackupScan:
    """Scan the volume now (one privileged call) and store the result."""
    try:
        report = commands.fetch_backups(volume.account)
        return store(volume, report)
    except PrivilegedError as error:
        reason = error.reason
    except ScanFailed as error:
        reason = error.reason
    logger.warning("backup scan of %s failed: %s", volume.account, reason)
    record_failure(volume, reason)
    raise ScanFailed(reason)


def _not_available():
    return _(
        "Your volume is not available right now, so it could not be checked. Your "
        "backups are listed as they were last seen."
    )


def _busy(operation):
    return _(
        "“%(operation)s” is in progress on your volume. Check your backups again when it "
        "has finished."
    ) % {"operation": operation.get_kind_display()}


def request_check(volume: Volume, actor) -> Operation:
    """The owner's "Check now": a scan in the task worker, not in the request.

    Refused when the volume is not mounted (the scan would read the empty
    mount point and forget every backup) and while any operation is queued
    or running on it, this one included: a user can't queue a second.
    """
    active = operations.active_for(volume.owner.username)
    if active is not None:
        raise CheckRefused(_busy(active))
    try:
        state = status.volume_state(volume.account, records.finished_version(volume.account))
    except status.StatusUnavailable:
        state = None
    if state is None or not state.mounted:
        raise CheckRefused(_not_available())
    try:
        return operations.start(owner=volume.owner, actor=actor, kind=Operation.Kind.CHECK_BACKUPS)
    except OperationInProgress as busy:  # started since active_for
        raise CheckRefused(_busy(busy.operation)) from None


def check(operation: Operation) -> results.Result:
    """The work of "Check now", in the task worker."""
    volume = Volume.objects.get(owner=operation.owner)
    # Asked again, not from the pages' cache: it may have changed since.
    try:
        record = commands.volume(volume.account)
    except PrivilegedError as error:
        raise UserFacingError(_not_available(), str(error)) from error
    if not record or not record["mounted"]:
        record_failure(volume, "not mounted")
        raise UserFacingError(_not_available(), "not mounted")
    try:
        scan = refresh(volume)
    except ScanFailed as failure:
        raise UserFacingError(
            _(
                "Your volume could not be checked just now. Please try again later; if it "
                "keeps failing, contact %(contact)s."
            )
            % {"contact": settings.SUPPORT_CONTACT},
            failure.reason,
        ) from None
    if not scan.source_count:
        return results.result("checked_empty")
    return results.result("checked", count=scan.source_count)


@dataclass
class ScanRun:
    """What the periodic scan did, volume by volume."""

    scanned: list
    skipped: list  # (account, why)
    failed: list  # (account, reason)


def scan_all(accounts=None) -> ScanRun:
    """Scan every volume the portal knows in one privileged call (the
    wrapper scans them as their owners, several at once); with accounts,
    only those, one call each after one inventory call."""
    busy = set(
        Operation.objects.filter(state__in=Operation.ACTIVE_STATES).values_list(
            "owner_name", flat=True
        )
    )
    volumes = Volume.objects.select_related("owner").order_by("account")
    run = ScanRun([], [], [])
    if accounts:
        mounted = {record["user"] for record in commands.inventory() if record["mounted"]}
        for volume in volumes.filter(account__in=accounts):
            _scan_one(volume, busy, volume.account in mounted, run)
        return run
    reports = {report["user"]: report for report in commands.fetch_all_backups()}
    listed = list(volumes)
    for start in range(0, len(listed), STORE_BATCH):
        # One transaction per batch, not per volume: each commit waits for
        # the disk (SQLite syncs it), which at 1,000 volumes took longer than
        # every scan together; a batch keeps the write lock short for the
        # pages and the worker.
        with transaction.atomic():
            for volume in listed[start : start + STORE_BATCH]:
                _store_one(volume, reports.get(volume.account), busy, run)
    return run


def _store_one(
    volume: Volume, report: VolumeBackupReport | SkippedScan | None, busy: set, run: ScanRun
) -> None:
    if volume.owner.username in busy:
        run.skipped.append((volume.account, "an operation is in progress"))
    elif report is not None and "skipped" in report:
        # A skipped volume carries no "mounted" (wrappers/README.md): it is
        # told apart first, or its reason would read "not mounted".
        reason = report["skipped"][:300]
        record_failure(volume, reason)
        run.failed.append((volume.account, reason))
    elif report is None or not report["mounted"]:
        record_failure(volume, "not mounted")
        run.skipped.append((volume.account, "not mounted"))
    else:
        try:
            store(volume, report)
        except ScanFailed as failure:
            record_failure(volume, failure.reason)
            run.failed.append((volume.account, failure.reason))
        else:
            run.scanned.append(volume.account)


def _scan_one(volume, busy, mounted, run):
    if volume.owner.username in busy:
        run.skipped.append((volume.account, "an operation is in progress"))
    elif not mounted:
        record_failure(volume, "not mounted")
        run.skipped.append((volume.account, "not mounted"))
    else:
        try:
            refresh(volume)
        except ScanFailed as failure:
            run.failed.append((volume.account, failure.reason))
        else:
            run.scanned.append(volume.account)
