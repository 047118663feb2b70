from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "backup.alerts"
