"""Registers a storage server with the portal."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from backup.nodes.models import Node


class Command(BaseCommand):
    help = "Register storage server NAME (its site and the address employees connect to)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--site", default="")
        parser.add_argument("--samba-address", required=True)

    def handle(self, *args, name, site, samba_address, **options):
        node = Node(name=name, site=site, samba_address=samba_address)
        try:
            node.full_clean()
        except ValidationError as error:
            problems = (f"{key}: {' '.join(texts)}" for key, texts in error.message_dict.items())
            raise CommandError("; ".join(problems)) from None
        node.save()
        self.stdout.write(
            f"added {node.name}; its worker's queue and database role: {node.queue_name}"
        )
