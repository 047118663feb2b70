from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "backup.metrics"

    def ready(self):
        from . import checks  # noqa: F401 (registers the settings checks)
