from backup.stats import collect
from backup.stats.management.collector_command import CollectorCommand


class Command(CollectorCommand):
    help = (
        "Record the space used on every mounted volume and the pool's size, allocation "
        "and use (every 5 minutes from cron or the systemd timer)."
    )
    name = "update_df_stats"

    def collect(self):
        return collect.collect_space()
