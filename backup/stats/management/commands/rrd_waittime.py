from backup.stats import collect
from backup.stats.management.collector_command import CollectorCommand


class Command(CollectorCommand):
    help = (
        "Record disk activity (bytes read and written, IO wait, requests in flight) for "
        "the server and for each volume (every minute from cron or the systemd timer)."
    )
    name = "rrd_waittime"

    def collect(self):
        return collect.collect_io()
