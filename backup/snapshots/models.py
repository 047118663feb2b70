"""What the scheduled snapshot run reported: each snapshot with the change
it measured and its protection, each volume's snapshot space, the changes
far beyond a volume's usual, and the runs. Pages read only these (like the
backup scans), so showing snapshots costs no privileged call."""

from datetime import timedelta

from django.conf import settings
from django.db import models

from backup.volumes.models import Volume

from .detection import describe, headline

# A row that belongs to a volume goes with it (on_delete=CASCADE), so its
# figures never meet a later volume of the same name. The key is the
# account name, in the column ``account``, as the wrappers name volumes:
# rows are written as volume_id=<account> and looked up with
# volume__account (no join: it is the key's own column).


class _OfAccount:
    """``account``: the volume's account name (the key's value), read
    without a query."""

    volume_id: str

    @property
    def account(self) -> str:
        return self.volume_id


class Snapshot(_OfAccount, models.Model):
    """One snapshot of a volume, as snapshot-create.py reported it. The row
    goes when retention prunes the snapshot, or with its volume."""

    volume = models.ForeignKey(
        Volume,
        to_field="account",
        db_column="account",
        on_delete=models.CASCADE,
        related_name="snapshots",
    )
    name = models.CharField(max_length=40)
    taken_at = models.DateTimeField()
    # Since the snapshot before; None for a volume's first snapshot.
    changed_bytes = models.BigIntegerField(null=True)
    changed_files = models.BigIntegerField(null=True)
    used_bytes = models.BigIntegerField()
    size_bytes = models.BigIntegerField()
    # From the wrappers' list (root's policy decides them).
    protected_until = models.DateTimeField(null=True, blank=True)
    exclusive_bytes = models.BigIntegerField(null=True, blank=True)
    # What existed that was overwritten, truncated, deleted or renamed, and
    # what is new (detection.Change.as_json): since the snapshot the volume
    # continued from ("change"), and over the rolling window.
    change = models.JSONField(null=True, blank=True)
    window_change = models.JSONField(null=True, blank=True)
    # What the snapshot holds (btrfs quota group), None when unknown.
    holds_bytes = models.BigIntegerField(null=True, blank=True)
    # The state a restore of the whole volume kept before it: what was
    # undone, never a restore point.
    kept_by_rollback = models.BooleanField(default=False)

    class Meta:
        ordering = ["volume_id", "taken_at"]
        constraints = [
            models.UniqueConstraint(fields=["volume", "name"], name="one_row_per_snapshot")
        ]
        # The name the index had when the key was a plain text column.
        indexes = [
            models.Index(fields=["volume", "taken_at"], name="snapshots_s_account_72b4af_idx")
        ]

    def __str__(self):
        return f"{self.account}/{self.name}"

    @property
    def protection_ends(self):
        """When its protection ends: what the wrappers' list said, or until
        it has said, the policy mirrored in settings."""
        return self.protected_until or self.taken_at + timedelta(
            days=settings.SNAPSHOT_PROTECTION_DAYS
        )


class SnapshotSpace(_OfAccount, models.Model):
    """A volume's snapshot space as snapshot-list.py last reported it."""

    volume = models.OneToOneField(
        Volume,
        to_field="account",
        db_column="account",
        on_delete=models.CASCADE,
        related_name="snapshot_space",
    )
    supported = models.BooleanField()
    snapshot_bytes = models.BigIntegerField(null=True, blank=True)
    used_bytes = models.BigIntegerField(default=0)
    size_bytes = models.BigIntegerField(default=0)
    listed_at = models.DateTimeField()

    def __str__(self):
        return f"snapshot space of {self.account}"


class MassChange(models.Model):
    """A snapshot whose change was far beyond the volume's usual, and the
    snapshot before it: the last known state before the change."""

    snapshot = models.OneToOneField(Snapshot, on_delete=models.CASCADE, related_name="mass_change")
    restore_point = models.CharField(max_length=40)
    restore_point_taken_at = models.DateTimeField()
    # Which rule fired, in English words for the log and the audit...
    reason = models.CharField(max_length=200)
    # ...and its figures (detection.mass_change_reason), which pages and
    # emails put in their reader's language.
    facts = models.JSONField(default=dict, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    # The owner said they know (the dashboard warning ends).
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-snapshot__taken_at"]

    def __str__(self):
        return f"mass change on {self.snapshot}"

    @property
    def description(self) -> str:
        """The reason in the active language (older records: as stored)."""
        return describe(self.facts) if self.facts else self.reason

    @property
    def headline(self) -> str:
        return headline(self.facts or {})

    @property
    def is_deletion(self) -> bool:
        return (self.facts or {}).get("rule") == "deletion"


class SnapshotRun(models.Model):
    """One run of take_snapshots; the admin page shows the last one."""

    taken_at = models.DateTimeField(db_index=True)
    volumes = models.PositiveIntegerField()
    snapshots = models.PositiveIntegerField()
    pruned = models.PositiveIntegerField()
    # {account: error}, for the volumes the wrapper could not snapshot.
    errors = models.JSONField(default=dict, blank=True)
    # What every volume's snapshots hold together after the run, for the
    # pool view (which makes no privileged call for it); None if unknown.
    snapshot_bytes = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-taken_at"]

    def __str__(self):
        return f"snapshot run at {self.taken_at:%Y-%m-%d %H:%M}"
