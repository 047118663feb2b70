from django.core.management.base import BaseCommand, CommandError

from backup.checkins import alerts as checkin_alerts
from backup.core.quiet import quiet_unless_verbose
from backup.discovery import alerts


class Command(BaseCommand):
    help = (
        "Email each person whose computers have not backed up within their threshold (one "
        "message listing them all, at most once per 24 hours) and send the admins one summary "
        "(stale computers, volumes never used, volumes not scanned); daily, from cron or the "
        "systemd timer. Reads the scans fetch_backups stored."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="say who would get mail; send nothing"
        )

    def handle(self, *args, **options):
        dry_run = options["dry_run"]
        with quiet_unless_verbose(options["verbosity"]):
            run = alerts.send_alerts(dry_run=dry_run)
            # What computers said themselves (backup.checkins): its own message.
            checkins = checkin_alerts.send_alerts(dry_run=dry_run)
        if dry_run or options["verbosity"] >= 2:
            verb = "would email" if dry_run else "emailed"
            self.stdout.write(f"{verb}: {', '.join(run.emailed) or 'nobody'}")
            if run.not_due:
                self.stdout.write(f"already alerted today: {', '.join(run.not_due)}")
            summary = "yes" if run.summary_sent else "no"
            self.stdout.write(f"admins' summary {'due' if dry_run else 'sent'}: {summary}")
            if run.no_address:
                # The admins' summary names them too.
                self.stdout.write(f"no email address for: {', '.join(run.no_address)}")
            alerted = ", ".join(checkins.alerted) or "nobody"
            self.stdout.write(f"check-ins: {'would alert' if dry_run else 'alerted'}: {alerted}")
        failed = [*run.failed, *checkins.failed]
        for recipient, error in failed:
            self.stderr.write(f"not sent to {recipient}: {error}")
        if failed:
            raise CommandError(f"{len(failed)} alert(s) could not be sent")
