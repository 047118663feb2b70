"""On PostgreSQL, the task queue's table holds every role but its owner (the
portal's) to the rows of its own queue: a node's worker connects as a role
named like its queue (``node_<name>``), so it can see, claim and finish only
its own node's operations, and can't move one to another queue. A role has
no other right on the table unless granted (``manage.py node_grants``
prints what a node needs). SQLite, the single-server install, has no roles
and nothing to do."""

from django.db import migrations

from backup.nodes.row_security import policy

# A node's worker connects as the role named like its queue (node_<name>).
own_queue = policy(
    "django_tasks_database_dbtaskresult",
    "each_node_its_own_queue",
    "queue_name = current_user",
)


class Migration(migrations.Migration):
    dependencies = [
        ("nodes", "0001_initial"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(*own_queue)]
