from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "backup.operations"

    def ready(self):
        from . import registry, runner
        from .models import Operation

        # A cleanup whose worker died is cleaned up again: the undo of the
        # interrupted operation is written to be run more than once.
        registry.register(Operation.Kind.CLEANUP, runner.clean_up, undo=runner.clean_up)
