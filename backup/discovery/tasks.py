"""Discovery's background work (django-tasks; the database worker runs it)."""

from django_tasks import task

from backup.operations import services as operations
from backup.operations.models import Operation

from . import deletion, scans

WORK = {
    Operation.Kind.CHECK_BACKUPS: scans.check,
    Operation.Kind.DELETE_BACKUP_SOURCE: deletion.delete,
}


@task()
def run_operation(operation_id: int) -> None:
    kind = Operation.objects.values_list("kind", flat=True).get(pk=operation_id)
    operations.execute(operation_id, WORK[kind])
