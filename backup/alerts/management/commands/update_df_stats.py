from backup.alerts import space
from backup.operations import tasks
from backup.stats import collect, signals
from backup.stats.management.collector_command import CollectorCommand


class Command(CollectorCommand):
    help = (
        "Record the space used on every mounted volume and the pool's size, allocation "
        "and use (every 5 minutes from cron or the systemd timer); then alert owners of "
        "nearly full volumes and the admins of a pool past its thresholds, once each. "
        "First, end the operations whose task worker died. With a second server, store "
        "its last report and alert when volumes fall behind or it stops reporting."
    )
    name = "update_df_stats"

    def collect(self):
        # The portal's pages only read, so the dead-worker reaper runs here
        # (and in the worker, before each task): an operation whose worker
        # died is ended within minutes even when no worker and no one acts
        # on the volume. Inside the run's lock (a run skipped as busy, or
        # without a usable RRD directory, touches nothing), and first, so
        # that a failing collection doesn't stop it.
        tasks.release_dead()
        report = collect.collect_space()
        # Before the space alerts: they end with the retry of every
        # undelivered alert, the second server's included.
        signals.space_collected.send(sender=self.__class__, report=report)
        space.after_collection(report)
        return report
