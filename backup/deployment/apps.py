from django.apps import AppConfig


class DeploymentConfig(AppConfig):
    name = "backup.deployment"

    def ready(self):
        from . import settings_checks  # noqa: F401 (registers the checks)
