from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class LanguagePreference(models.Model):
    """The language a person last used the portal in: emails to them are
    written in it (backup.pages.languages)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="language_preference"
    )
    # One of settings.LANGUAGES; not a choices list, which would tie the
    # migrations to that setting.
    language = models.CharField(_("language"), max_length=15)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("language preference")

    def __str__(self):
        return f"{self.user}: {self.language}"


class TimeZonePreference(models.Model):
    """The time zone a person reads times in (backup.pages.zones); without
    one, the site's TIME_ZONE."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="time_zone_preference"
    )
    # An IANA name from zoneinfo.available_timezones(); checked when stored
    # and again when read (the tz database may lose a name on an upgrade).
    zone = models.CharField(_("time zone"), max_length=64)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("time zone preference")

    def __str__(self):
        return f"{self.user}: {self.zone}"
