"""Prints the SQL a database administrator runs (as a PostgreSQL superuser,
with psql) to let a storage server's worker in: its own role, named like
its queue, with only the rights the worker needs. The password is set
afterwards with psql's ``\\password``, so it never appears in a command line,
a file this prints, or the server's log."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from backup.nodes.models import Node

TASKS = "django_tasks_database_dbtaskresult"


class Command(BaseCommand):
    help = "Print the PostgreSQL statements that give node NAME's worker its database role."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, name, **options):
        try:
            node = Node.objects.get(name=name)
        except Node.DoesNotExist:
            raise CommandError(f"no node named {name!r} (add it first)") from None
        if connection.vendor != "postgresql":
            raise CommandError("nodes share a PostgreSQL database; this portal uses SQLite")
        # Both names were validated ([a-z][a-z0-9_]*): safe inside quotes.
        role, database = node.queue_name, connection.settings_dict["NAME"]
        self.stdout.write(
            "\n".join(
                (
                    f'CREATE ROLE "{role}" LOGIN;',
                    f'GRANT CONNECT ON DATABASE "{database}" TO "{role}";',
                    f'GRANT USAGE ON SCHEMA public TO "{role}";',
                    # Claiming and finishing its own queue's tasks (row-level
                    # security hides every other queue's rows).
                    f'GRANT SELECT, UPDATE ON TABLE {TASKS} TO "{role}";',
                    # Its own report (row-level security again), found by name.
                    f'GRANT SELECT ON TABLE nodes_node TO "{role}";',
                    f'GRANT SELECT, INSERT, UPDATE ON TABLE nodes_nodereport TO "{role}";',
                    f'\\password "{role}"',
                )
            )
        )
