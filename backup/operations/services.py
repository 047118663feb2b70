"""Starting operations, and ending stuck ones.

A volume has at most one active operation: the database refuses a second
one (a unique constraint), so a double-submitted form produces one
operation. Slow operations run in the task worker; their record shows
progress and, afterwards, the outcome. Before an operation starts, those
whose worker died are ended (tasks.release_dead); pages only read, and show
such an operation as interrupted (tasks.as_seen) until the worker or the
periodic job ends it.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backup.core.errors import UserFacingError

from . import records, runner, tasks, workers
from .models import Operation
from .results import result


def active_for(owner_name: str) -> Operation | None:
    """The owner's active operation whose worker is alive, without writing:
    one whose worker died no longer holds the volume (the next start ends
    it first), so a page offers the actions again."""
    operation = records.active_for(owner_name)
    if operation is None or tasks.is_dead(operation):
        return None
    return operation


def start(*, owner, actor, kind: str, parameters: dict | None = None) -> Operation:
    """Record an operation and hand it to the task worker (once committed)."""
    tasks.release_dead(owner.username)
    operation = records.open_operation(owner=owner, actor=actor, kind=kind, parameters=parameters)
    tasks.enqueue_after_commit(operation)
    return operation


def run_now(*, owner, actor, kind: str, parameters: dict | None = None) -> Operation:
    """Record an operation and run its registered work in this process (a
    scheduled job acting on its own), with the same record, heartbeat and
    outcome as in the worker; raises OperationInProgress like start."""
    tasks.release_dead(owner.username)
    operation = records.open_operation(owner=owner, actor=actor, kind=kind, parameters=parameters)
    runner.execute(operation.pk)
    operation.refresh_from_db()
    return operation


def begin(*, owner, actor, kind: str) -> Operation:
    """Record an operation this process runs now, in the request; the
    caller ends it with records.finish."""
    tasks.release_dead(owner.username)
    return records.open_operation(
        owner=owner, actor=actor, kind=kind, worker=workers.this_process()
    )


def end_stuck(operation_id: int, admin) -> Operation:
    """An admin ends an operation that is not progressing; returns the audit
    record. Refused while its worker is alive and reporting."""
    with transaction.atomic():
        operation = Operation.objects.filter(pk=operation_id).first()
        if operation is None or not operation.is_active:
            raise UserFacingError(_("That operation has already ended; nothing was changed."))
        if operation.state == Operation.State.RUNNING and not tasks.is_dead(operation):
            raise UserFacingError(
                _(
                    "“%(kind)s” for %(owner)s is still running: its worker reported "
                    "%(seconds)d seconds ago. Wait for it to finish, or stop the task "
                    "worker first; nothing was changed."
                )
                % {
                    "kind": operation.get_kind_display(),
                    "owner": operation.owner_name,
                    "seconds": (timezone.now() - operation.heartbeat_at).total_seconds()
                    if operation.heartbeat_at
                    else 0,
                },
                status=409,
            )
        previous = operation.state
        message = result("ended_by_admin", admin=admin.username, then=tasks.what_next(operation))
        if not tasks.release(
            operation, message=message, detail=f"ended by {admin.username}", actor=admin
        ):
            raise UserFacingError(_("That operation has already ended; nothing was changed."))
        now = timezone.now()
        return Operation.objects.create(
            kind=Operation.Kind.END,
            state=Operation.State.SUCCEEDED,
            owner=operation.owner,
            owner_name=operation.owner_name,
            actor=admin,
            actor_name=admin.username,
            parameters={"operation": operation.pk, "kind": operation.kind, "state": previous},
            started_at=now,
            finished_at=now,
            **records.outcome_fields(
                operation.owner_name,
                result("ended", kind=operation.kind, id=operation.pk, state=previous),
            ),
        )
