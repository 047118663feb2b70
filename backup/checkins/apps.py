from django.apps import AppConfig


class CheckInsConfig(AppConfig):
    name = "backup.checkins"
    verbose_name = "Check-ins"
