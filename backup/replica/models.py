"""The second server as the portal last heard of it: the replica's report
(one row), what it holds of each volume, and which of its alerts were said.

Written only by update_df_stats (services.store_report), from what
replica-status.py returned; pages and /metrics read these and nothing else.
"""

from django.db import models


class ReplicaReport(models.Model):
    """The replica's last report; one row (pk 1), replaced by each new one."""

    # The replica's clock when its run ended, and the primary's when root
    # stored the report: silence is measured on the primary's own clock.
    checked_at = models.DateTimeField()
    received_at = models.DateTimeField()
    reachable = models.BooleanField()
    error = models.CharField(max_length=300, blank=True)
    pool_size_bytes = models.BigIntegerField()
    pool_free_bytes = models.BigIntegerField()
    verify_checked_at = models.DateTimeField(null=True, blank=True)
    verify_failed = models.JSONField(default=list, blank=True)

    def __str__(self):
        return f"replica report of {self.checked_at:%Y-%m-%dT%H:%M:%SZ}"


class ReplicaCopy(models.Model):
    """What the replica holds of one volume, as of its last report."""

    account = models.CharField(max_length=32, unique=True)
    newest = models.CharField(max_length=40, blank=True)
    newest_taken_at = models.DateTimeField(null=True, blank=True)
    count = models.PositiveIntegerField()
    error = models.CharField(max_length=300, blank=True)

    def __str__(self):
        return f"{self.account}: {self.count} copies"


class ReplicaAlert(models.Model):
    """An alert said: once per volume falling behind, once per silence; the
    row is the claim (a second run can't say it too) and goes when the
    volume catches up or the replica reports again, re-arming it."""

    class Kind(models.TextChoices):
        BEHIND = "behind"
        UNREACHABLE = "unreachable"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    account = models.CharField(max_length=32, blank=True)
    notified_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "account"], name="one_replica_alert_each")
        ]

    def __str__(self):
        return f"{self.kind} {self.account}".strip()
