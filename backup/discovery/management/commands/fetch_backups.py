from django.core.management.base import BaseCommand, CommandError

from backup.discovery import scans
from backup.logs import quiet_unless_verbose
from backup.privileged.client import PrivilegedError


class Command(BaseCommand):
    help = (
        "Scan every volume for backups (one fetch_backups.py call, which reads each volume as "
        "its owner) and store what was found for the pages and the alerts; hourly, from cron "
        "or the systemd timer. With account names, only those volumes, one call each. "
        "Volumes that are not mounted or have an operation in progress are left for next time."
    )

    def add_arguments(self, parser):
        parser.add_argument("accounts", nargs="*", help="only these volumes (account names)")

    def handle(self, *args, **options):
        try:
            with quiet_unless_verbose(options["verbosity"]):
                run = scans.scan_all(options["accounts"])
        except PrivilegedError as error:
            raise CommandError(f"nothing scanned: the inventory failed: {error}") from None
        # Quiet when all went well: cron mails whatever a job prints.
        if options["verbosity"] >= 2:
            self.stdout.write(
                f"fetch_backups: {len(run.scanned)} scanned, {len(run.skipped)} skipped, "
                f"{len(run.failed)} failed"
            )
            for account, why in run.skipped:
                self.stdout.write(f"skipped {account}: {why}")
        for account, reason in run.failed:
            self.stderr.write(f"{account}: {reason}")
        if run.failed:
            raise CommandError(f"{len(run.failed)} volume(s) could not be scanned")
