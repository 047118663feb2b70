from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    name = "backup.alerts"
    verbose_name = _("Alerts")

    def ready(self):
        from backup.volumes.signals import volume_deleted

        from . import (
            checks,  # noqa: F401 (registers the settings checks)
            volume_notices,
        )

        # The volumes app below announces; this app tells the people.
        volume_deleted.connect(
            volume_notices.announce_deletion, dispatch_uid="backup.alerts.volume_deleted"
        )
