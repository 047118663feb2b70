"""The dashboard's "Your backups", read from the stored scan only (no
privileged call in a page)."""

import datetime
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backup.core.times import absolute_time, iso, parse_time, relative_time
from backup.volumes.models import Volume

from . import cleaning, thresholds
from .models import BackupScan

# Names people know their software by (wrappers/README.md lists the formats);
# Windows shows its own tools' names in the user's language.
FORMAT_NAMES = {
    "time_machine": "Time Machine",
    "windows_backup": gettext_lazy("Windows Backup"),
    "windows_system_image": gettext_lazy("Windows system image"),
    "windows_file_history": gettext_lazy("Windows File History"),
    "rdiff_backup": "rdiff-backup",
    "back_in_time": "Back In Time",
    "restic": "restic",
    "borg": "Borg",
    "borg2": "Borg 2",
    "duplicity": "Déjà Dup / duplicity",
    "duplicati": "Duplicati",
    "kopia": "Kopia",
    "veeam": "Veeam",
    "macrium": "Macrium Reflect",
    "acronis": "Acronis True Image",
    "hyper_backup": "Synology Hyper Backup",
    "urbackup": "UrBackup",
    "arq": "Arq",
    "freefilesync": "FreeFileSync",
    "copy": gettext_lazy("Copied folder"),
}


@dataclass(frozen=True)
class Machine:
    """One backup source as the dashboard shows it."""

    machine: str | None
    format_name: str
    path: str
    format: str
    last_backup: datetime.datetime | None
    backups: int | None
    state: str
    status: str
    now: datetime.datetime
    evidence: str | None = None
    in_progress_since: datetime.datetime | None = None
    size_bytes: int | None = None
    size_estimated: bool = False

    @property
    def name(self):
        """The computer's name, else where its backups are."""
        if self.machine:
            return self.machine
        if self.path == ".":
            return _("%(format)s backup on the whole volume") % {"format": self.format_name}
        return _("%(format)s backup in “%(path)s”") % {
            "format": self.format_name,
            "path": self.path,
        }

    @property
    def ago(self):
        return relative_time(self.last_backup, self.now) if self.last_backup else None

    @property
    def exact(self):
        return absolute_time(self.last_backup) if self.last_backup else None

    @property
    def iso(self):
        return iso(self.last_backup) if self.last_backup else None

    @property
    def badge(self):
        return thresholds.BADGES[self.status][1]

    @property
    def status_label(self):
        return thresholds.BADGES[self.status][0]

    @property
    def stale(self):
        return self.status == thresholds.STALE

    @property
    def alerts(self):
        """Stale or stalled: the owner is emailed about it."""
        return self.status in thresholds.ALERTING

    @property
    def repository_change(self):
        """Only the last change to the repository is known, not a backup."""
        return self.evidence == cleaning.REPOSITORY_CHANGE

    @property
    def estimated(self):
        return self.evidence == cleaning.BANDS_SAMPLE

    @property
    def completion_unknown(self):
        """Only when the backup's files were last written is known."""
        return self.evidence in cleaning.COMPLETION_UNKNOWN

    @property
    def is_copy(self):
        """A copy or mirror, no versions: dated by its newest write."""
        return self.evidence == cleaning.COPY

    @property
    def in_progress_for(self):
        """How long the backup in progress has run ("3 days")."""
        if not self.in_progress_since:
            return None
        return timesince(self.in_progress_since, self.now, depth=1).replace("\xa0", " ")

    @property
    def delete_query(self):
        """The query string of its delete page (discovery:delete)."""
        return urlencode({"format": self.format, "path": self.path})

    @property
    def deletable(self):
        return self.path != "."

    @property
    def in_progress_ago(self):
        return relative_time(self.in_progress_since, self.now) if self.in_progress_since else None


def machines(scan: BackupScan | None, days: int, now: datetime.datetime) -> list[Machine]:
    cutoff = thresholds.stale_cutoff(days, now)
    stalled_before = thresholds.stalled_cutoff(now)
    found = []
    for source in scan.sources if scan else []:
        last_backup = parse_time(source.get("last_backup"))
        since = parse_time(source.get("in_progress_since"))
        found.append(
            Machine(
                machine=source.get("machine"),
                format_name=FORMAT_NAMES.get(source["format"], source["format"]),
                format=source["format"],
                path=source.get("path") or ".",
                last_backup=last_backup,
                backups=source.get("backups"),
                state=source.get("state"),
                status=thresholds.status_of(
                    source.get("state"),
                    last_backup,
                    cutoff,
                    since,
                    stalled_before,
                    evidence=source.get("evidence"),
                ),
                now=now,
                evidence=source.get("evidence"),
                in_progress_since=since,
                size_bytes=source.get("size_bytes"),
                size_estimated=source.get("size_estimated") is True,
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
        return relative_time(self.modified, self.now) if self.modified else None

    @property
    def exact(self):
        return absolute_time(self.modified) if self.modified else None


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
        when = self.scan.scanned_at if self.scan is not None else None
        return relative_time(when, self.now) if when is not None else None

    @property
    def checked_exact(self):
        when = self.scan.scanned_at if self.scan is not None else None
        return absolute_time(when) if when is not None else None

    @property
    def truncated(self):
        return self.scan is not None and self.scanned and self.scan.truncated

    @property
    def more_machines(self):
        return self.scan.more_sources if self.scan is not None and self.scanned else 0

    @property
    def more_folders(self):
        return self.scan.more_unrecognised if self.scan is not None and self.scanned else 0

    @property
    def folder_count(self):
        return len(self.folders) + self.more_folders

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

    @property
    def stalled_count(self):
        return sum(1 for machine in self.machines if machine.status == thresholds.STALLED)

    @property
    def dated_by_repository_change(self):
        return any(machine.repository_change for machine in self.machines)

    @property
    def completion_unknown_count(self):
        return sum(1 for machine in self.machines if machine.completion_unknown)

    @property
    def copy_count(self):
        return sum(1 for machine in self.machines if machine.is_copy)

    @property
    def stalled_after_hours(self):
        return settings.IN_PROGRESS_STALLED_AFTER_HOURS


def report_for(volume: Volume, now: datetime.datetime | None = None) -> VolumeReport:
    now = now or timezone.now()
    scan = BackupScan.objects.filter(volume=volume).first()
    folders = [
        Folder(item["path"], parse_time(item.get("modified")), now)
        for item in (scan.unrecognised if scan else [])
    ]
    days = thresholds.stale_after_days_for(volume.owner_id)
    return VolumeReport(scan, machines(scan, days, now), folders, days, now)
