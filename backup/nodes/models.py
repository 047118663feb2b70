"""The storage servers (nodes) a portal manages when it outgrows one server
(README "More than one server"). Each node runs the wrappers and a worker
that claims only its own queue's operations: the queue's name is the node's
database role, which PostgreSQL's row-level security holds it to
(``migrations/0002_row_level_security.py``)."""

from django.core.validators import RegexValidator
from django.db import models

# A PostgreSQL role name that needs no quoting, and a django-tasks queue
# name (at most 32 characters) once prefixed.
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,23}$"
QUEUE_PREFIX = "node_"


def queue_name(node_name: str) -> str:
    """The node's queue and its database role: one name for both, so the
    database can hold a node's role to its own queue."""
    return QUEUE_PREFIX + node_name


class Node(models.Model):
    name = models.CharField(
        max_length=24,
        unique=True,
        validators=[RegexValidator(NAME_PATTERN)],
        help_text="Lower-case letters, digits and _; starts with a letter.",
    )
    # Where its employees are: placement puts a new volume on a node of the
    # person's site first.
    site = models.CharField(max_length=64, blank=True)
    # What employees connect to (Samba and Time Machine instructions).
    samba_address = models.CharField(max_length=253)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def queue_name(self) -> str:
        return queue_name(self.name)


class NodeReport(models.Model):
    """What a node's worker last said about itself (``manage.py
    node_report`` on its schedule): pages read this, never the node. A node's
    database role may write only its own row (row-level security,
    ``migrations/0003_node_reports.py``)."""

    node = models.OneToOneField(Node, on_delete=models.CASCADE, primary_key=True)
    reported_at = models.DateTimeField()
    pool_size_bytes = models.BigIntegerField()
    pool_free_bytes = models.BigIntegerField()
    volume_count = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.node_id} at {self.reported_at:%Y-%m-%d %H:%M}"
