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
