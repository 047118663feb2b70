from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "backup.operations"

    def ready(self):
        from . import registry, runner
        from .models import Operation

        registry.register(Operation.Kind.CLEANUP, runner.clean_up)
