from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SsoConfig(AppConfig):
    name = "backup.sso"
    verbose_name = _("Single sign-on")

    def ready(self):
        from . import checks  # noqa: F401 (registers the checks)
