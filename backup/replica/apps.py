from django.apps import AppConfig


class ReplicaConfig(AppConfig):
    name = "backup.replica"

    def ready(self):
        from backup.stats import signals

        from . import alerts, checks  # noqa: F401 (checks registers the settings check)

        # update_df_stats, a floor below, tells this app when it has run.
        signals.space_collected.connect(alerts.on_space_collected, dispatch_uid="replica")
