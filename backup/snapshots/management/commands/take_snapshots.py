from django.core.management.base import BaseCommand, CommandError

from backup.core.quiet import quiet_unless_verbose
from backup.privileged.client import PrivilegedError
from backup.snapshots import services


class Command(BaseCommand):
    help = (
        "Snapshot every btrfs volume, measure what changed since each one's previous "
        "snapshot and prune per the retention policy, in one privileged call "
        "(snapshot-create.py, and snapshot-list.py for the space the snapshots hold, "
        "whatever the number of volumes); store the figures and email the owner and the "
        "admins about a mass change. Every SNAPSHOT_INTERVAL_MINUTES (15), from cron or "
        "the systemd timer. (Deleted volumes are destroyed by destroy_due_volumes.)"
    )

    def handle(self, *args, **options):
        with quiet_unless_verbose(options["verbosity"]):
            try:
                report = services.take_snapshots()
            except PrivilegedError as error:
                raise CommandError(f"no snapshots taken: {error}") from error
        run = report.run
        if options["verbosity"] >= 2:
            self.stdout.write(
                f"{run.snapshots} snapshot(s) of {run.volumes} volume(s), {run.pruned} pruned"
            )
            for mass_change in report.mass_changes:
                self.stdout.write(f"mass change: {mass_change.snapshot}: {mass_change.reason}")
        for account, reason in run.errors.items():
            self.stderr.write(f"no snapshot of {account}: {reason}")
        if run.errors:
            raise CommandError(f"{len(run.errors)} volume(s) without a snapshot")
