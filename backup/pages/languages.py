"""Which language a person reads: remembered from the portal, used for the
emails they get (render inside ``translation.override(language_of(user))``)."""

from django.conf import settings
from django.utils import translation

from .models import LanguagePreference

# The session remembers what was last stored, so that a signed-in request
# writes to the database only when the language changed.
_SESSION_KEY = "backup_remembered_language"


def supported(language: str | None) -> str | None:
    """``language`` as one of settings.LANGUAGES, or None."""
    if not language:
        return None
    try:
        return translation.get_supported_language_variant(language)
    except LookupError:
        return None


def language_of(user) -> str:
    """The language to write to ``user`` in: the one they last used the
    portal in, else the site's default."""
    if user is None or user.pk is None:
        return settings.LANGUAGE_CODE
    preferences = LanguagePreference.objects.filter(user_id=user.pk)
    stored = preferences.values_list("language", flat=True).first()
    return supported(stored) or settings.LANGUAGE_CODE


def remember(request, language: str | None) -> None:
    """Store ``language`` as the signed-in person's, when it is supported and
    differs from what this session last stored."""
    language = supported(language)
    user = getattr(request, "user", None)
    if language is None or user is None or not user.is_authenticated:
        return
    if request.session.get(_SESSION_KEY) == language:
        return
    LanguagePreference.objects.update_or_create(user=user, defaults={"language": language})
    request.session[_SESSION_KEY] = language
