"""Run on a storage server by its timer: tells the portal's database how the
node is (its pool), so pages never ask the node."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from backup.nodes import reports
from backup.nodes.models import Node


class Command(BaseCommand):
    help = "Report this storage server's state (node_name in backup.toml) to the portal."

    def handle(self, *args, **options):
        if not settings.NODE_NAME:
            raise CommandError("this host is not a storage server of a portal (no node_name set)")
        try:
            written = reports.report(settings.NODE_NAME)
        except Node.DoesNotExist:
            raise CommandError(
                f"no node named {settings.NODE_NAME!r} is registered with the portal"
            ) from None
        if options["verbosity"] > 1:
            self.stdout.write(f"reported {written}")
