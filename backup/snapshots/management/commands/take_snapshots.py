from django.core.management.base import BaseCommand, CommandError

from backup.logs import quiet_unless_verbose
from backup.privileged.client import PrivilegedError
from backup.snapshots import services
from backup.volumes import services as volumes


class Command(BaseCommand):
    help = (
        "Snapshot every btrfs volume, measure what changed since each one's previous "
        "snapshot and prune per the retention policy, in one privileged call "
        "(snapshot-create.py, and snapshot-list.py for the space the snapshots hold, "
        "whatever the number of volumes); store the figures, email the owner and the "
        "admins about a mass change, and destroy deleted volumes whose protection has "
        "ended. Every SNAPSHOT_INTERVAL_MINUTES (15), from cron or the systemd timer."
    )

    def handle(self, *args, **options):
        with quiet_unless_verbose(options["verbosity"]):
            try:
                report = services.take_snapshots()
            except PrivilegedError as error:
                raise CommandError(f"no snapshots taken: {error}") from error
            destroyed = volumes.destroy_due_volumes()
        run = report.run
        if options["verbosity"] >= 2:
            self.stdout.write(
                f"{run.snapshots} snapshot(s) of {run.volumes} volume(s), {run.pruned} pruned"
            )
            for mass_change in report.mass_changes:
                self.stdout.write(f"mass change: {mass_change.snapshot}: {mass_change.reason}")
            for operation in destroyed:
                self.stdout.write(f"destroyed: {operation.owner_name}: {operation.message}")
        for account, reason in run.errors.items():
            self.stderr.write(f"no snapshot of {account}: {reason}")
        failed = [operation for operation in destroyed if not operation.succeeded]
        for operation in failed:
            self.stderr.write(f"not destroyed: {operation.owner_name}: {operation.detail}")
        if run.errors or failed:
            raise CommandError(
                f"{len(run.errors)} volume(s) without a snapshot, {len(failed)} not destroyed"
            )
