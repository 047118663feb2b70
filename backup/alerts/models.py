"""Where each person's alerts go, and what has already been said about
thresholds (so each is said once until it is crossed again)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from backup.operations import results
from backup.volumes.models import Volume

from .channels import redacted

# A channel address can hold a token; longer than this is not a push address.
MAX_URL_LENGTH = 500
# Each test alert posts to every channel from the web request: bounded.
MAX_CHANNELS = 5


class AlertPreference(models.Model):
    """Whether alerts go by email; without a row, they do."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_preference"
    )
    email = models.BooleanField(default=True)
    # The last "Send a test alert": at most one per TEST_INTERVAL, since each
    # makes the web process post to every channel.
    tested_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.user}: email {'on' if self.email else 'off'}"


class Channel(models.Model):
    """One push or webhook address (backup.alerts.channels) a person's alerts also go to."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_channels"
    )
    url = models.CharField(max_length=MAX_URL_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)
    # The last attempt's outcome, shown on the person's page: a failing
    # channel is recorded there and in the log, and never stops the others.
    last_sent_at = models.DateTimeField(null=True, blank=True)
    last_failed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)
    # Why, as facts (backup.operations.results) told in the reader's
    # language; empty for a text without them (then last_error is shown).
    last_error_facts = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "url"], name="one_channel_per_url_and_user")
        ]

    def __str__(self):
        return f"{self.user}: {redacted(self.url)}"

    @property
    def error_shown(self) -> str:
        """Why the last attempt failed, in the active language."""
        if self.last_error_facts:
            return results.render(self.last_error_facts, owner_name=self.user.username)
        return self.last_error


class QuotaAlert(models.Model):
    """The highest near-quota threshold the owner was told about, until the
    volume's use drops below it again."""

    volume = models.OneToOneField(Volume, on_delete=models.CASCADE, related_name="quota_alert")
    threshold = models.PositiveSmallIntegerField()
    notified_at = models.DateTimeField()

    def __str__(self):
        return f"{self.volume.account} past {self.threshold}%"


class PoolAlert(models.Model):
    """A pool threshold the admins were told has been crossed; the row goes
    when the figure drops below it again, which re-arms the alert."""

    class Measure(models.TextChoices):
        ALLOCATED = "allocated", "allocated"
        USED = "used", "used"

    measure = models.CharField(max_length=16, choices=Measure.choices, unique=True)
    percent = models.PositiveSmallIntegerField()
    notified_at = models.DateTimeField()

    def __str__(self):
        return f"pool {self.measure} past {self.percent}%"


class PendingAlert(models.Model):
    """An alert that reached nobody when it was sent (the mail server down,
    every channel failing): kept, as rendered, and tried again by the
    scheduled runs until it reaches someone or RETRY_FOR has passed. Each
    attempt is counted and its error kept."""

    # None: the admins' alert (their addresses and channels at each attempt).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="pending_alerts",
        verbose_name=_("recipient"),
    )
    template = models.CharField(max_length=100, verbose_name=_("alert"))
    # {"": [subject, body]} as rendered for the recipient (for the admins: in
    # LANGUAGE_CODE for their email), and {"<admin>": [...]} in each admin's
    # own language for their channels.
    messages = models.JSONField(verbose_name=_("messages"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    attempts = models.PositiveIntegerField(default=1, verbose_name=_("attempts"))
    last_attempt_at = models.DateTimeField(verbose_name=_("last attempt at"))
    next_attempt_at = models.DateTimeField(verbose_name=_("next attempt at"))
    last_error = models.CharField(max_length=500, blank=True, verbose_name=_("last error"))
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("delivered at"))
    gave_up_at = models.DateTimeField(null=True, blank=True, verbose_name=_("gave up at"))

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("undelivered alert")
        verbose_name_plural = _("undelivered alerts")

    def __str__(self):
        who = self.user.username if self.user is not None else "admins"
        return f"{self.template} for {who}: {self.attempts} attempt(s)"

    @property
    def subject(self) -> str:
        return self.messages.get("", ["", ""])[0]
