"""Check-ins: what each computer itself says about its backups, through
its own secret address (the Healthchecks ping protocol, views.py).

Only a hash of the secret token is stored: the address is shown in full
once, when it is made, like the backup password.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

MIN_PERIOD_HOURS = 1
MAX_PERIOD_HOURS = 24 * 365


class CheckIn(models.Model):
    """One computer's check-in address and what it last said."""

    class Signal(models.TextChoices):
        SUCCESS = "success"
        FAIL = "fail"
        START = "start"
        LOG = "log"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="checkins"
    )
    name = models.CharField(max_length=100)
    # SHA-256 of the token, hex. Looked up by equality on the hash: what a
    # guess shares with a real token says nothing through timing.
    token_hash = models.CharField(max_length=64, unique=True)
    # Stale when no success came within this many hours.
    period_hours = models.PositiveIntegerField(
        default=24,
        validators=[MinValueValidator(MIN_PERIOD_HOURS), MaxValueValidator(MAX_PERIOD_HOURS)],
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    # Set by /start, cleared by the success or failure that ends the run.
    started_at = models.DateTimeField(null=True, blank=True)
    last_exit_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # The body of the last failure, and of the last check-in that had one
    # (any signal): bounded (CHECKIN_LOG_MAX_BYTES) and cleaned on arrival.
    failure_log = models.TextField(blank=True)
    last_log = models.TextField(blank=True)
    last_log_signal = models.CharField(max_length=10, choices=Signal.choices, blank=True)
    last_log_at = models.DateTimeField(null=True, blank=True)
    last_log_truncated = models.BooleanField(default=False)
    last_signal = models.CharField(max_length=10, choices=Signal.choices, blank=True)
    last_signal_at = models.DateTimeField(null=True, blank=True)
    check_ins = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["owner", "name", "pk"]

    def __str__(self):
        return f"{self.owner}: {self.name}"


class CheckInAlertSent(models.Model):
    """When a check-in alert last went to a person (at most once a day, as
    the stale-backup alert), claimed with a conditional UPDATE."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="checkin_alert_sent"
    )
    sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"check-in alert to {self.user}: {self.sent_at}"
