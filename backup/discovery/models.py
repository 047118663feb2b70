"""What fetch_backups.py last found on each volume, each person's stale
threshold, and when alerts were last sent.

Pages read these rows only: scanning is a privileged call, made by the
periodic command and, in the task worker, by the owner's "Check now" and
after operations that change what a volume holds.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from backup.volumes.models import Volume

MIN_STALE_DAYS = 1
MAX_STALE_DAYS = 365


class BackupScan(models.Model):
    """The latest successful scan of one volume (fetch_backups.py's JSON),
    with a few figures drawn from it so that the admin page and the alerts
    need not decode every volume's list."""

    volume = models.OneToOneField(Volume, on_delete=models.CASCADE, related_name="backup_scan")
    # The wrapper's own time of the scan; null until one succeeded.
    scanned_at = models.DateTimeField(null=True, blank=True)
    truncated = models.BooleanField(default=False)
    sources = models.JSONField(default=list, blank=True)
    unrecognised = models.JSONField(default=list, blank=True)
    # Counts of all that was found; the lists above keep a bounded part,
    # the rest is counted in more_* ("and N more").
    source_count = models.PositiveIntegerField(default=0)
    unrecognised_count = models.PositiveIntegerField(default=0)
    more_sources = models.PositiveIntegerField(default=0)
    more_unrecognised = models.PositiveIntegerField(default=0)
    # Newest and oldest "last backup" among the sources that completed one:
    # the admin page's column, and whether any computer is stale.
    newest_backup = models.DateTimeField(null=True, blank=True)
    oldest_backup = models.DateTimeField(null=True, blank=True)
    # Since when the longest-running backup in progress has been seen in
    # progress: whether any computer has stalled, without the lists.
    oldest_in_progress = models.DateTimeField(null=True, blank=True)
    # The last attempt failed (volume not mounted, wrapper refused...): the
    # lists above are from the last success. Cleared by the next success.
    failed_at = models.DateTimeField(null=True, blank=True)
    failure = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["volume__account"]

    def __str__(self):
        return f"backups on {self.volume.account}"


class BackupPreference(models.Model):
    """After how many days without a backup a computer counts as stale;
    without a row, settings.STALE_AFTER_DAYS."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="backup_preference"
    )
    stale_after_days = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(MIN_STALE_DAYS), MaxValueValidator(MAX_STALE_DAYS)]
    )

    def __str__(self):
        return f"{self.user}: stale after {self.stale_after_days} days"


class AlertSent(models.Model):
    """When an alert last went to a recipient ("user:<name>" or "admins").

    A send is claimed with a conditional UPDATE of this row before the mail
    goes out, so two runs at once can't both send it.
    """

    recipient = models.CharField(max_length=160, unique=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.recipient} at {self.sent_at}"
