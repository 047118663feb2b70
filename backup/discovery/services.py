"""Backup discovery in the portal: running fetch_backups.py and storing what
it found, reading it back for the pages, and when a computer is stale.

A computer is stale when its last completed backup is older than its
owner's threshold (STALE_AFTER_DAYS until they choose one), whatever the
state of the backup under way: a backup interrupted a month ago is a month
old. Pages only read the stored scans; the privileged call happens in
refresh(), from the periodic command, "Check now" and after a create.
"""

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from backup.operations import records
from backup.operations import services as operations
from backup.operations.models import Operation
from backup.privileged import commands
from backup.privileged.client import PrivilegedError
from backup.volumes import status
from backup.volumes.models import Volume

from .models import MAX_STALE_DAYS, MIN_STALE_DAYS, BackupPreference, BackupScan

logger = logging.getLogger("backup.discovery")

UTC = datetime.UTC
WIRE_TIME = "%Y-%m-%dT%H:%M:%SZ"  # the wrappers' times (wrappers/README.md)

# Names people know their software by (wrappers/README.md lists the formats).
FORMAT_NAMES = {
    "time_machine": "Time Machine",
    "windows_backup": "Windows Backup",
    "windows_system_image": "Windows system image",
    "windows_file_history": "Windows File History",
    "rdiff_backup": "rdiff-backup",
    "back_in_time": "Back In Time",
    "restic": "restic",
    "borg": "Borg",
    "borg2": "Borg 2",
    "duplicity": "Déjà Dup / duplicity",
    "duplicati": "Duplicati",
    "kopia": "Kopia",
}
STATES = ("complete", "in_progress", "failed")

# A computer's status on the dashboard: (label, Bootstrap badge class).
OK, STALE, IN_PROGRESS, FAILED, NO_BACKUP = "ok", "stale", "in_progress", "failed", "none"
BADGES = {
    OK: ("OK", "text-bg-success"),
    STALE: ("Stale", "text-bg-warning"),
    IN_PROGRESS: ("In progress", "text-bg-info"),
    FAILED: ("Failed", "text-bg-danger"),
    NO_BACKUP: ("No backup yet", "text-bg-secondary"),
}

# Older scans no longer tell whether a computer backs up (the scan timer
# stopped, the volume is unmounted): no alert is sent from them.
SCAN_OUTDATED_AFTER = datetime.timedelta(hours=48)
# "Check now" reuses a scan this recent instead of scanning again.
CHECK_NOW_REUSE = datetime.timedelta(seconds=30)
# Longest text kept from the wrapper for a name or path.
MAX_TEXT = 500


class ScanFailed(Exception):
    """The scan did not run or its output was unusable; the failure is
    recorded on the volume's scan and the previous results kept."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class CheckRefused(Exception):
    """ "Check now" did not scan; ``message`` says why, for the user."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


# --- Times --------------------------------------------------------------------


def parse_time(value):
    """A wrapper's UTC time, or None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.datetime.strptime(value, WIRE_TIME).replace(tzinfo=UTC)
    except ValueError:
        return None


def iso(when):
    return when.astimezone(UTC).strftime(WIRE_TIME)


def exact(when):
    """The hover text: the exact time, in UTC, said so."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _count(number, unit):
    return f"{number} {unit}{'' if number == 1 else 's'} ago"


def ago(when, now):
    """'3 days ago': the largest whole unit only."""
    seconds = int((now - when).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return _count(seconds // 60, "minute")
    if seconds < 86400:
        return _count(seconds // 3600, "hour")
    days = seconds // 86400
    if days < 60:
        return _count(days, "day")
    if days < 730:
        return _count(days // 30, "month")
    return _count(days // 365, "year")


# --- Thresholds -----------------------------------------------------------------


def stale_after_days(user):
    return _stale_after_days(user.pk)


def _stale_after_days(user_id):
    chosen = (
        BackupPreference.objects.filter(user_id=user_id)
        .values_list("stale_after_days", flat=True)
        .first()
    )
    return chosen or settings.STALE_AFTER_DAYS


def set_stale_after_days(user, days):
    if not MIN_STALE_DAYS <= days <= MAX_STALE_DAYS:
        raise ValueError(f"{days} is not from {MIN_STALE_DAYS} to {MAX_STALE_DAYS}")
    BackupPreference.objects.update_or_create(user=user, defaults={"stale_after_days": days})


def stale_cutoff(days, now):
    return now - datetime.timedelta(days=days)


def status_of(state, last_backup, cutoff):
    if state == "failed":
        return FAILED
    if last_backup is not None and last_backup < cutoff:
        return STALE
    if state == "in_progress":
        return IN_PROGRESS
    if last_backup is None:
        return NO_BACKUP
    return OK


# --- Storing scans --------------------------------------------------------------


def _text(value):
    return value[:MAX_TEXT] if isinstance(value, str) else None


def _number(value):
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _clean_source(item):
    """One source as stored, or None when it is not a source at all. The
    wrapper is trusted, but the names in it are whatever was on the volume."""
    if not isinstance(item, dict) or not isinstance(item.get("format"), str):
        return None
    last_backup = parse_time(item.get("last_backup"))
    return {
        "machine": _text(item.get("machine")),
        "format": item["format"][:40],
        "path": _text(item.get("path")) or ".",
        "last_backup": iso(last_backup) if last_backup else None,
        "backups": _number(item.get("backups")),
        "state": item.get("state") if item.get("state") in STATES else "complete",
        "size_bytes": _number(item.get("size_bytes")),
    }


def _clean_unrecognised(item):
    if not isinstance(item, dict) or not isinstance(item.get("path"), str):
        return None
    modified = parse_time(item.get("modified"))
    return {"path": _text(item["path"]), "modified": iso(modified) if modified else None}


def _cleaned(items, clean):
    if not isinstance(items, list):
        raise ScanFailed("fetch_backups.py returned a list that is not a list")
    return [found for found in map(clean, items) if found is not None]


def _sort_key(source):
    return ((source["machine"] or "").casefold(), source["path"])


def store(volume, report):
    """Record fetch_backups.py's report as the volume's latest scan."""
    if not isinstance(report, dict) or report.get("user") != volume.account:
        raise ScanFailed("fetch_backups.py returned a report for another volume or none")
    scanned_at = parse_time(report.get("scanned_at"))
    if scanned_at is None:
        raise ScanFailed("fetch_backups.py returned no scan time")
    sources = sorted(_cleaned(report.get("sources"), _clean_source), key=_sort_key)
    unrecognised = _cleaned(report.get("unrecognised"), _clean_unrecognised)
    dated = [parse_time(source["last_backup"]) for source in sources if source["last_backup"]]
    scan, _ = BackupScan.objects.update_or_create(
        volume=volume,
        defaults={
            "scanned_at": scanned_at,
            "truncated": report.get("truncated") is True,
            "sources": sources,
            "unrecognised": unrecognised,
            "source_count": len(sources),
            "unrecognised_count": len(unrecognised),
            "newest_backup": max(dated, default=None),
            "oldest_backup": min(dated, default=None),
            "failed_at": None,
            "failure": "",
        },
    )
    return scan


def record_failure(volume, reason, now=None):
    """Note a failed attempt, keeping what the last success found."""
    BackupScan.objects.update_or_create(
        volume=volume,
        defaults={"failed_at": now or timezone.now(), "failure": reason[:300]},
    )


def refresh(volume):
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


def check_now(volume, now=None):
    """The owner's "Check now": scan unless something makes it pointless.

    Refused while an operation runs on the volume (the wrapper would wait
    for its lock), when the volume is not mounted (the scan would read the
    empty mount point and forget every backup) and right after a scan.
    """
    now = now or timezone.now()
    active = operations.active_for(volume.owner.username)
    if active is not None:
        raise CheckRefused(
            f"“{active.get_kind_display()}” is in progress on your volume. Check your "
            "backups again when it has finished."
        )
    last = BackupScan.objects.filter(volume=volume).values_list("scanned_at", flat=True).first()
    if last is not None and now - last < CHECK_NOW_REUSE:
        return BackupScan.objects.get(volume=volume)
    try:
        state = status.volume_state(volume.account, records.finished_version(volume.account))
    except status.StatusUnavailable:
        state = None
    if state is None or not state.mounted:
        raise CheckRefused(
            "Your volume is not available right now, so it could not be checked. Your "
            "backups are listed as they were last seen."
        )
    try:
        return refresh(volume)
    except ScanFailed:
        raise CheckRefused(
            "Your volume could not be checked just now. Please try again later; if it "
            f"keeps failing, contact {settings.SUPPORT_CONTACT}."
        ) from None


@dataclass
class ScanRun:
    """What the periodic scan did, volume by volume."""

    scanned: list
    skipped: list  # (account, why)
    failed: list  # (account, reason)


def scan_all(accounts=None):
    """Scan every volume the portal knows (or those named): one inventory
    call, then one fetch_backups.py call per mounted, idle volume."""
    mounted = {record["user"] for record in commands.inventory() if record.get("mounted")}
    busy = set(
        Operation.objects.filter(state__in=Operation.ACTIVE_STATES).values_list(
            "owner_name", flat=True
        )
    )
    volumes = Volume.objects.select_related("owner").order_by("account")
    if accounts:
        volumes = volumes.filter(account__in=accounts)
    run = ScanRun([], [], [])
    for volume in volumes:
        if volume.owner.username in busy:
            run.skipped.append((volume.account, "an operation is in progress"))
        elif volume.account not in mounted:
            record_failure(volume, "not mounted")
            run.skipped.append((volume.account, "not mounted"))
        else:
            try:
                refresh(volume)
            except ScanFailed as failure:
                run.failed.append((volume.account, failure.reason))
            else:
                run.scanned.append(volume.account)
    return run


# --- Reading scans (pages) ------------------------------------------------------


@dataclass(frozen=True)
class Machine:
    """One backup source as the dashboard shows it."""

    machine: str | None
    format_name: str
    path: str
    last_backup: datetime.datetime | None
    backups: int | None
    state: str
    status: str
    now: datetime.datetime

    @property
    def name(self):
        """The computer's name, else where its backups are."""
        if self.machine:
            return self.machine
        if self.path == ".":
            return f"{self.format_name} backup on the whole volume"
        return f"{self.format_name} backup in “{self.path}”"

    @property
    def ago(self):
        return ago(self.last_backup, self.now) if self.last_backup else None

    @property
    def exact(self):
        return exact(self.last_backup) if self.last_backup else None

    @property
    def iso(self):
        return iso(self.last_backup) if self.last_backup else None

    @property
    def badge(self):
        return BADGES[self.status][1]

    @property
    def status_label(self):
        return BADGES[self.status][0]

    @property
    def stale(self):
        return self.status == STALE


def machines(scan, days, now):
    cutoff = stale_cutoff(days, now)
    found = []
    for source in scan.sources if scan else []:
        last_backup = parse_time(source.get("last_backup"))
        found.append(
            Machine(
                machine=source.get("machine"),
                format_name=FORMAT_NAMES.get(source["format"], source["format"]),
                path=source.get("path") or ".",
                last_backup=last_backup,
                backups=source.get("backups"),
                state=source.get("state"),
                status=status_of(source.get("state"), last_backup, cutoff),
                now=now,
            )
        )
    return found


@dataclass(frozen=True)
class Folder:
    path: str
    modified: datetime.datetime | None
    now: datetime.datetime

    @property
    def ago(self):
        return ago(self.modified, self.now) if self.modified else None

    @property
    def exact(self):
        return exact(self.modified) if self.modified else None


@dataclass(frozen=True)
class VolumeReport:
    """The dashboard's "Your backups": the stored scan, read for one owner."""

    scan: BackupScan | None
    machines: list
    folders: list
    stale_after_days: int
    now: datetime.datetime

    @property
    def scanned(self):
        return self.scan is not None and self.scan.scanned_at is not None

    @property
    def checked_ago(self):
        return ago(self.scan.scanned_at, self.now) if self.scanned else None

    @property
    def checked_exact(self):
        return exact(self.scan.scanned_at) if self.scanned else None

    @property
    def truncated(self):
        return self.scanned and self.scan.truncated

    @property
    def last_check_failed(self):
        scan = self.scan
        return bool(
            scan
            and scan.failed_at
            and (scan.scanned_at is None or scan.failed_at > scan.scanned_at)
        )

    @property
    def stale_count(self):
        return sum(1 for machine in self.machines if machine.stale)


def report_for(volume, now=None):
    now = now or timezone.now()
    scan = BackupScan.objects.filter(volume=volume).first()
    folders = [
        Folder(item["path"], parse_time(item.get("modified")), now)
        for item in (scan.unrecognised if scan else [])
    ]
    days = _stale_after_days(volume.owner_id)
    return VolumeReport(scan, machines(scan, days, now), folders, days, now)


# --- The admin page ---------------------------------------------------------------


@dataclass(frozen=True)
class VolumeBackups:
    """A volume's backups in brief, for the admin table and summary."""

    scanned_at: datetime.datetime | None
    newest_backup: datetime.datetime | None
    oldest_backup: datetime.datetime | None
    source_count: int
    stale: bool
    never_used: bool


def never_used(scanned, empty, created_at, now):
    """Nothing at all on a volume made NEVER_USED_AFTER_DAYS ago or earlier."""
    old_enough = created_at is not None and created_at <= now - datetime.timedelta(
        days=settings.NEVER_USED_AFTER_DAYS
    )
    return scanned and empty and old_enough


def volume_backups(now=None):
    """{account: VolumeBackups} for every scanned volume, in one query."""
    now = now or timezone.now()
    default_days = settings.STALE_AFTER_DAYS
    rows = BackupScan.objects.values_list(
        "volume__account",
        "scanned_at",
        "newest_backup",
        "oldest_backup",
        "source_count",
        "unrecognised_count",
        "truncated",
        "volume__created_at",
        "volume__owner__backup_preference__stale_after_days",
    )
    summaries = {}
    for account, scanned_at, newest, oldest, sources, folders, truncated, created, days in rows:
        cutoff = stale_cutoff(days or default_days, now)
        summaries[account] = VolumeBackups(
            scanned_at=scanned_at,
            newest_backup=newest,
            oldest_backup=oldest,
            source_count=sources,
            stale=oldest is not None and oldest < cutoff,
            never_used=never_used(
                scanned_at is not None, not (sources or folders or truncated), created, now
            ),
        )
    return summaries


# The admin table's filters (?backups=...): name -> (label, test of a
# VolumeBackups or None for a volume never scanned).
FILTERS = {
    "stale": ("Stale", lambda backups: backups is not None and backups.stale),
    "never": ("Never used", lambda backups: backups is not None and backups.never_used),
}
