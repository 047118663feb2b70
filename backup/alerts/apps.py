from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    name = "backup.alerts"
    verbose_name = _("Alerts")

    def ready(self):
        from . import checks  # noqa: F401 (registers the settings checks)
