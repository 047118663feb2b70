"""On PostgreSQL, the task queue's table holds every role but its owner (the
portal's) to the rows of its own queue: a node's worker connects as a role
named like its queue (``node_<name>``), so it can see, claim and finish only
its own node's operations, and can't move one to another queue. A role has
no other right on the table unless granted (``manage.py node_grants``
prints what a node needs). SQLite, the single-server install, has no roles
and nothing to do."""

from django.db import migrations

TABLE = "django_tasks_database_dbtaskresult"
POLICY = "each_node_its_own_queue"


def enable(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
    schema_editor.execute(
        f"CREATE POLICY {POLICY} ON {TABLE} "
        "USING (queue_name = current_user) WITH CHECK (queue_name = current_user)"
    )


def disable(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP POLICY IF EXISTS {POLICY} ON {TABLE}")
    schema_editor.execute(f"ALTER TABLE {TABLE} DISABLE ROW LEVEL SECURITY")


class Migration(migrations.Migration):
    dependencies = [
        ("nodes", "0001_initial"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(enable, disable)]
