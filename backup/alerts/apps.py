from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "backup.alerts"

    def ready(self):
        from . import checks  # noqa: F401 (registers the settings checks)
