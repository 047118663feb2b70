"""Each node's own report; on PostgreSQL, a role other than the portal's
(the table's owner) may read and write only the row of the node named like
itself (``node_<name>``), so a node can't pass itself off as another or
hide another's silence."""

import django.db.models.deletion
from django.db import migrations, models

from backup.nodes.row_security import policy

own_report = policy(
    "nodes_nodereport",
    "each_node_its_own_report",
    "node_id IN (SELECT id FROM nodes_node WHERE 'node_' || name = current_user)",
)


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
        migrations.RunPython(*own_report),
    ]
