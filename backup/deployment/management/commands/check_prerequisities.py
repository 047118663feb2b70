"""manage.py check_prerequisities: is this server ready to run the portal?

The original's spelling, kept because admins follow its README
(check_prerequisites is an alias). One line per check (Django's deployment
checks of the settings, then the server checks in backup/deployment/checks.py),
OK, WARN or FAIL with how to fix it; the exit status is non-zero when anything
failed. Run it as the
service user, or as root (sudo is then tried as the service user).
"""

from django.core.management.base import BaseCommand, CommandError

from backup.deployment import checks


class Command(BaseCommand):
    help = "Check that this server is ready to run the portal (sudo, wrappers, storage, …)."
    # The checks report broken settings themselves, one line each.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--user",
            default=None,
            help="the service user to check for (default: SERVICE_USER, backupmanagement)",
        )

    def handle(self, **options):
        name = options["user"] or checks.service_user_name()
        try:
            context = checks.Context.for_user(name)
        except KeyError:
            raise CommandError(
                f"FAIL service user: {name} does not exist: sudo bin/install creates it"
            ) from None
        results = checks.run_all(context)
        for result in results:
            self.stdout.write(checks.line(result))
        failed = [result for result in results if result.is_serious()]
        if failed:
            raise CommandError(f"{len(failed)} of {len(results)} checks failed")
        self.stdout.write(f"all {len(results)} checks passed")
