from django.apps import AppConfig


class SnapshotsConfig(AppConfig):
    name = "backup.snapshots"

    def ready(self):
        from backup.operations import registry

        from . import restore

        for kind, work in restore.WORK.items():
            registry.register(kind, work)
