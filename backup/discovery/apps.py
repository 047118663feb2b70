from django.apps import AppConfig


class DiscoveryConfig(AppConfig):
    name = "backup.discovery"

    def ready(self):
        from backup.operations import registry
        from backup.operations.models import Operation

        from . import deletion, scans, signals

        signals.connect()
        registry.register(Operation.Kind.CHECK_BACKUPS, scans.check)
        registry.register(Operation.Kind.DELETE_BACKUP_SOURCE, deletion.delete)
