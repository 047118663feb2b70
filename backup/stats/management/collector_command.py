"""What update_df_stats and rrd_waittime share: quiet when all went well
(cron mails any output), problems on stderr, a non-zero exit on failure."""

import contextlib
import logging

from django.core.management.base import BaseCommand, CommandError

from backup.privileged.client import PrivilegedError

from .. import collect


class CollectorCommand(BaseCommand):
    name = ""  # the lock's name: the command's

    def collect(self):
        raise NotImplementedError

    def handle(self, *args, **options):
        try:
            with collect.exclusive(self.name), _quiet(options["verbosity"] < 2):
                report = self.collect()
        except collect.Busy as busy:
            raise CommandError(str(busy)) from None
        except PrivilegedError as error:
            raise CommandError(f"nothing recorded: {error}") from None
        except OSError as error:
            raise CommandError(
                f"nothing recorded: the RRD directory can't be used ({error}); check RRD_DIRECTORY"
            ) from None
        for problem in report.problems:
            self.stderr.write(problem)
        if options["verbosity"] >= 2:
            self.stdout.write(f"{self.name}: {report.summary() or 'nothing to record'}")
        if report.failed:
            # The figures not recorded, or an alert undelivered for too long
            # (backup.alerts.space.retry_undelivered): the lines above say which.
            raise CommandError(f"{self.name}: failed ({report.summary()}); see above")


@contextlib.contextmanager
def _quiet(enabled):
    """Without -v 2, leave out the one line per wrapper call the privileged
    client logs: run every minute, it would fill the mail and the log."""
    logger = logging.getLogger("backup")
    level = logger.level
    if enabled:
        logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)
