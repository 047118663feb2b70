from django.apps import AppConfig


class DiscoveryConfig(AppConfig):
    name = "backup.discovery"

    def ready(self):
        from . import signals

        signals.connect()
