"""Backup volumes as the portal knows them, and how large each person's may grow."""

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Volume(models.Model):
    """One person's backup volume; the row exists once creation succeeded."""

    class Filesystem(models.TextChoices):
        EXT4 = "ext4", "ext4"
        BTRFS = "btrfs", "btrfs"
        XFS = "xfs", "XFS"

    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="backup_volume",
        verbose_name=_("owner"),
    )
    # The backup account (Unix and Samba) and share name.
    account = models.CharField(max_length=32, unique=True, verbose_name=_("account"))
    size_gib = models.PositiveIntegerField(verbose_name=_("size (GiB)"))
    filesystem = models.CharField(
        max_length=8, choices=Filesystem.choices, verbose_name=_("filesystem")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    # Null until the owner has been given a password (after creation).
    password_changed_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("password changed at")
    )
    # Deferred deletion: deleted while snapshots were protected, the volume
    # is suspended (unmounted, account locked) until its newest snapshot's
    # protection ends, then destroyed; its owner may undo it until then.
    suspended_at = models.DateTimeField(null=True, blank=True, verbose_name=_("deleted at"))
    destroy_after = models.DateTimeField(null=True, blank=True, verbose_name=_("destroyed after"))
    # The storage server holding it, when the portal manages several
    # (README "More than one server"); None: this server, the only one.
    node = models.ForeignKey(
        "nodes.Node",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="volumes",
        verbose_name=_("storage server"),
    )

    class Meta:
        ordering = ["account"]
        verbose_name = _("volume")
        verbose_name_plural = _("volumes")

    def __str__(self):
        return f"{self.account} ({self.size_gib} GiB)"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """A recorded destruction date is never moved: the owner was told it,
        and a later date would keep a deleted volume (issue 19). Undo clears
        it; only then may a new deletion record another. (Read from the
        database, not from this instance: a stale copy must not slip by.)"""
        if self.pk is not None and self.destroy_after is not None:
            stored = (
                Volume.objects.filter(pk=self.pk).values_list("destroy_after", flat=True).first()
            )
            if stored is not None and stored != self.destroy_after:
                raise ValueError(
                    f"the destruction date of {self.account} is {stored:%Y-%m-%d %H:%M}; "
                    "it is never moved"
                )
        super().save(*args, **kwargs)

    @property
    def pending_destruction(self):
        return self.suspended_at is not None


class Quota(models.Model):
    """The most a person's volume may grow to; DEFAULT_QUOTA without a row."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="backup_quota",
        verbose_name=_("person"),
    )
    max_size_gib = models.PositiveIntegerField(
        help_text=_("Largest size, in GiB, this person's backup volume may have."),
        verbose_name=_("largest size (GiB)"),
    )

    class Meta:
        verbose_name = _("quota")
        verbose_name_plural = _("quotas")

    def __str__(self):
        return f"{self.user} ≤ {self.max_size_gib} GiB"


def volume_of(user: Any) -> Volume | None:
    """The person's volume, or None before creation succeeded."""
    return Volume.objects.filter(owner=user).first()


def quota_for(user: Any) -> int:
    quota = Quota.objects.filter(user=user).values_list("max_size_gib", flat=True).first()
    return quota if quota is not None else settings.DEFAULT_QUOTA
