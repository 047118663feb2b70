from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperationsConfig(AppConfig):
    name = "backup.operations"
    verbose_name = _("Operations")

    def ready(self):
        from . import registry, runner
        from .models import Operation

        # A cleanup whose worker died is cleaned up again: the undo of the
        # interrupted operation is written to be run more than once.
        registry.register(Operation.Kind.CLEANUP, runner.clean_up, undo=runner.clean_up)
