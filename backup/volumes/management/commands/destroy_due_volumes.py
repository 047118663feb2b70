from django.core.management.base import BaseCommand, CommandError

from backup.core.quiet import quiet_unless_verbose
from backup.volumes import destruction


class Command(BaseCommand):
    help = (
        "Destroy the deleted volumes whose snapshots' protection has ended, and complete "
        "the records of those an administrator destroyed with root's own tool, each as an "
        "operation in the audit log (one privileged call to list the volumes, made only "
        "when a deleted volume waits). Hourly, from cron or the systemd timer."
    )

    def handle(self, *args, **options):
        with quiet_unless_verbose(options["verbosity"]):
            destroyed = destruction.destroy_due_volumes()
        if options["verbosity"] >= 2:
            for operation in destroyed:
                self.stdout.write(f"destroyed: {operation.owner_name}: {operation.message}")
        failed = [operation for operation in destroyed if not operation.succeeded]
        for operation in failed:
            self.stderr.write(f"not destroyed: {operation.owner_name}: {operation.detail}")
        if failed:
            raise CommandError(f"{len(failed)} volume(s) not destroyed")
