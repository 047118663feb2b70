from django.apps import AppConfig


class ReplicaConfig(AppConfig):
    name = "backup.replica"

    def ready(self):
        from . import checks  # noqa: F401 (registers the settings check)
