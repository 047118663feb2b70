from django.apps import AppConfig


class CheckInsConfig(AppConfig):
    name = "backup.checkins"
    verbose_name = "Check-ins"

    def ready(self):
        from . import checks  # noqa: F401 (registers the settings checks)
