from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "backup.alerts"

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
