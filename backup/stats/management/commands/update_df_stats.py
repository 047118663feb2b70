from backup.alerts import space
from backup.stats import collect
from backup.stats.management.collector_command import CollectorCommand


class Command(CollectorCommand):
    help = (
        "Record the space used on every mounted volume and the pool's size, allocation "
        "and use (every 5 minutes from cron or the systemd timer); then alert owners of "
        "nearly full volumes and the admins of a pool past its thresholds, once each."
    )
    name = "update_df_stats"

    def collect(self):
        report = collect.collect_space()
        space.after_collection(report)
        return report
