"""Background tasks (django-tasks; the database worker runs them)."""

from django_tasks import task

from backup.operations import services as operations
from backup.operations.models import Operation

from . import restore


@task()
def run_operation(operation_id):
    kind = Operation.objects.values_list("kind", flat=True).get(pk=operation_id)
    operations.execute(operation_id, restore.WORK[kind])
