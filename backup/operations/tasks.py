"""The operation lifecycle around the task queue: the worker's one entry
point, handing operations to it once they are committed, and ending
operations whose worker died (undoing what they left, where their kind
registered an undo).

Operations start with services.start; this module is what the worker and
services share.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from backup.nodes.models import queue_name

from . import records, registry, runner, workers
from .models import Operation
from .results import Result, result, stored_text

logger = logging.getLogger("backup.operations")


@task()
def run_operation(operation_id: int) -> None:
    # A worker that comes back after dying first ends (and undoes) what
    # its previous life left running.
    release_dead()
    runner.execute(operation_id)


def enqueue_after_commit(operation: Operation) -> None:
    """Hand the operation to the worker once its row is committed: a worker
    fast enough to look before the commit would not find it."""

    def enqueue():
        try:
            # An operation on a storage server of its own goes to that
            # server's queue, which only its worker may claim.
            node = operation.parameters.get("node")
            task = run_operation.using(queue_name=queue_name(node)) if node else run_operation
            task.enqueue(operation.pk)
        except Exception as error:
            logger.exception("%s could not be queued", operation)
            records.finish(
                operation,
                succeeded=False,
                message=result("not_queued"),
                detail=f"enqueue failed: {type(error).__name__}: {error}",
            )

    transaction.on_commit(enqueue)


def is_dead(operation: Operation, now=None) -> bool:
    """True when nothing will ever finish this active operation."""
    now = now or timezone.now()
    if operation.state == Operation.State.QUEUED:
        return operation.requested_at < now - timedelta(hours=settings.OPERATION_QUEUED_HOURS)
    alive_at = operation.heartbeat_at or operation.started_at or operation.requested_at
    if alive_at < now - timedelta(seconds=settings.OPERATION_STALE_SECONDS):
        return True
    return bool(operation.worker) and workers.is_gone(operation.worker)


def release(operation: Operation, *, message: str | Result, detail: str, actor=None) -> bool:
    """End an active operation as failed without its worker; when it was
    running and its kind can be undone, queue the cleanup (which holds the
    volume until it is done). False when it had ended meanwhile."""
    with transaction.atomic():
        ended = Operation.objects.filter(
            pk=operation.pk, state=operation.state, worker=operation.worker
        ).update(
            state=Operation.State.FAILED,
            finished_at=timezone.now(),
            detail=detail,
            **records.outcome_fields(operation.owner_name, message),
        )
        if not ended:
            return False
        was_running = operation.state == Operation.State.RUNNING
        operation.refresh_from_db()
        logger.warning("%s released: %s", operation, detail)
        if was_running and operation.owner and registry.undo_for(operation.kind):
            cleanup = records.open_operation(
                owner=operation.owner,
                actor=actor,
                kind=Operation.Kind.CLEANUP,
                parameters={"interrupted": operation.pk},
            )
            enqueue_after_commit(cleanup)
    return True


def what_next(operation: Operation) -> Result:
    """For an active operation about to be ended: what happens to it now."""
    if operation.state == Operation.State.RUNNING and registry.undo_for(operation.kind):
        return result("then_undo")
    return result("then_retry")


def interrupted_sentence(operation: Operation) -> Result:
    return result("interrupted", kind=operation.kind, then=what_next(operation))


def as_seen(operation: Operation, now=None) -> Operation:
    """The operation as a page should show it, without writing: one still
    recorded as active whose worker died is shown as the interrupted
    failure release_dead will record (the periodic job, the worker, or the
    next action on the volume ends it for real). Changes the instance in
    memory only; never save what this returns."""
    if operation.is_active and is_dead(operation, now):
        operation.result = interrupted_sentence(operation)
        operation.message = stored_text(operation.result, owner_name=operation.owner_name)
        operation.state = Operation.State.FAILED
        operation.interrupted = True
    return operation


def all_as_seen(operations) -> list[Operation]:
    """as_seen for each operation of a list or queryset, with one clock."""
    now = timezone.now()
    return [as_seen(operation, now) for operation in operations]


def release_dead(owner_name: str | None = None) -> list[Operation]:
    """End the active operations (of one owner, or all) whose worker died.

    Writes: run by the task worker before each task, by the periodic
    update_df_stats job and by the POSTs that start an operation, never
    by a page (pages use as_seen)."""
    active = Operation.objects.filter(state__in=Operation.ACTIVE_STATES)
    if owner_name is not None:
        active = active.filter(owner_name=owner_name)
    now = timezone.now()
    released = []
    for operation in active:
        if is_dead(operation, now) and release(
            operation,
            message=interrupted_sentence(operation),
            detail=f"worker gone or silent (worker {operation.worker or 'none'}, "
            f"last heartbeat {operation.heartbeat_at or 'never'})",
        ):
            released.append(operation)
    return released
