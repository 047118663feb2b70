"""Each node's own report; on PostgreSQL, a role other than the portal's
(the table's owner) may read and write only the row of the node named like
itself (``node_<name>``), so a node can't pass itself off as another or
hide another's silence."""

import django.db.models.deletion
from django.db import migrations, models

TABLE = "nodes_nodereport"
POLICY = "each_node_its_own_report"


def enable(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
    own = "node_id IN (SELECT id FROM nodes_node WHERE 'node_' || name = current_user)"
    schema_editor.execute(f"CREATE POLICY {POLICY} ON {TABLE} USING ({own}) WITH CHECK ({own})")


def disable(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP POLICY IF EXISTS {POLICY} ON {TABLE}")
    schema_editor.execute(f"ALTER TABLE {TABLE} DISABLE ROW LEVEL SECURITY")


class Migration(migrations.Migration):
    dependencies = [
        ("nodes", "0002_row_level_security"),
    ]

    operations = [
        migrations.CreateModel(
            name="NodeReport",
            fields=[
                (
                    "node",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        serialize=False,
                        to="nodes.node",
                    ),
                ),
                ("reported_at", models.DateTimeField()),
                ("pool_size_bytes", models.BigIntegerField()),
                ("pool_free_bytes", models.BigIntegerField()),
                ("volume_count", models.PositiveIntegerField()),
            ],
        ),
        migrations.RunPython(enable, disable),
    ]
