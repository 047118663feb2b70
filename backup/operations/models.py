"""Every operation on a volume: its progress while it runs, and afterwards
the audit record (who, what, on whose volume, when, outcome)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from . import results


class Operation(models.Model):
    class Kind(models.TextChoices):
        CREATE = "create", _("Create volume")
        ADD_SPACE = "add_space", _("Add space")
        DELETE = "delete", _("Delete volume")
        DELETE_TIME_MACHINE = "delete_time_machine", _("Delete Time Machine backups")
        MOUNT = "mount", _("Mount volume")
        NEW_PASSWORD = "new_password", _("New backup password")
        DEFRAGMENT = "defragment", _("Defragment")
        SCRUB = "scrub", _("Check (scrub)")
        CLEANUP = "cleanup", _("Clean up after an interrupted operation")
        END = "end", _("End a stuck operation")
        SET_QUOTA = "set_quota", _("Change quota")
        CHECK_BACKUPS = "check_backups", _("Check for backups")
        DELETE_BACKUP_SOURCE = "delete_backup_source", _("Delete a computer's backups")
        RESTORE = "snapshot_restore", _("Restore from a snapshot")
        ROLLBACK = "snapshot_rollback", _("Restore the volume to a snapshot")
        UNDO_DELETE = "undo_delete", _("Undo deletion")
        DESTROY = "destroy", _("Destroy deleted volume")

    class State(models.TextChoices):
        QUEUED = "queued", _("Waiting to start")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Done")
        FAILED = "failed", _("Failed")

    ACTIVE_STATES = (State.QUEUED, State.RUNNING)

    kind = models.CharField(max_length=32, choices=Kind.choices, verbose_name=_("what"))
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.QUEUED, verbose_name=_("state")
    )
    # Whose volume, and who asked (an admin may act for someone). The names
    # stay when the Django user is deleted, so the audit log keeps them.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="backup_operations",
        verbose_name=_("owner"),
    )
    owner_name = models.CharField(max_length=150, db_index=True, verbose_name=_("volume"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("asked by"),
    )
    actor_name = models.CharField(max_length=150, verbose_name=_("asked by (name)"))
    parameters = models.JSONField(default=dict, blank=True, verbose_name=_("parameters"))
    requested_at = models.DateTimeField(
        auto_now_add=True, db_index=True, verbose_name=_("asked at")
    )
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    # While it runs: the process running it (operations.workers) and when
    # that process last said it was alive, so a dead worker is noticed.
    heartbeat_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last heartbeat"))
    worker = models.CharField(max_length=300, blank=True, verbose_name=_("worker"))
    # What the user is told; and the technical detail (never a secret).
    message = models.TextField(blank=True, verbose_name=_("message"))
    detail = models.TextField(blank=True, verbose_name=_("detail"))
    # The outcome as facts (backup.operations.results), told in the reader's
    # language when shown; ``message`` then keeps a copy in the site's
    # language for the log and the export. Empty on rows older than it,
    # whose ``message`` is what they show.
    result = models.JSONField(default=dict, blank=True, verbose_name=_("outcome (facts)"))

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("operation")
        verbose_name_plural = _("operations")
        constraints = [
            # One operation per volume at a time: a second request (a
            # double-submitted form) can't even be recorded.
            models.UniqueConstraint(
                fields=["owner_name"],
                condition=Q(state__in=["queued", "running"]),
                name="one_active_operation_per_volume",
            )
        ]

    # True on an instance tasks.as_seen shows as interrupted (in memory
    # only: the record still says queued or running until it is released).
    interrupted = False

    def __str__(self):
        return f"{self.get_kind_display()} for {self.owner_name} ({self.state})"

    def outcome_for(self, reader_name: str | None = None) -> str:
        """The outcome's sentence in the active language, as ``reader_name``
        (None: the owner) should read it."""
        if self.result:
            return results.render(self.result, owner_name=self.owner_name, reader_name=reader_name)
        return self.message

    @property
    def is_active(self):
        return self.state in self.ACTIVE_STATES

    @property
    def succeeded(self):
        return self.state == self.State.SUCCEEDED
