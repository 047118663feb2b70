"""Starting, running and recording operations.

A volume has at most one active operation: the database refuses a second
one (a unique constraint), so a double-submitted form produces one
operation. Slow operations run in the task worker; their record shows
progress and, afterwards, the outcome.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Operation

logger = logging.getLogger("backup.operations")

# A queued or running operation older than this was interrupted (the worker
# died or the server restarted); it no longer blocks the volume.
INTERRUPTED_AFTER = timedelta(hours=6)
SCHEDULED_ACTOR = "(scheduled)"


class OperationInProgress(Exception):
    def __init__(self, operation):
        super().__init__(f"{operation} is still active")
        self.operation = operation


class OperationFailed(Exception):
    """Ends an operation as failed with a message fit for the user."""

    def __init__(self, message, detail=""):
        super().__init__(message)
        self.message = message
        self.detail = detail


def active_for(owner_name):
    return Operation.objects.filter(
        owner_name=owner_name, state__in=Operation.ACTIVE_STATES
    ).first()


def _release_interrupted(owner_name):
    cutoff = timezone.now() - INTERRUPTED_AFTER
    Operation.objects.filter(
        owner_name=owner_name, state__in=Operation.ACTIVE_STATES, requested_at__lt=cutoff
    ).update(
        state=Operation.State.FAILED,
        finished_at=timezone.now(),
        message="This operation was interrupted. Please try again.",
        detail=f"marked failed: still active after {INTERRUPTED_AFTER}",
    )


def open_operation(*, owner, actor, kind, parameters=None, state=Operation.State.QUEUED):
    """Record a new operation, or raise OperationInProgress. ``actor`` None:
    the server did it on its own schedule (recorded as SCHEDULED_ACTOR)."""
    _release_interrupted(owner.username)
    try:
        with transaction.atomic():
            return Operation.objects.create(
                kind=kind,
                state=state,
                owner=owner,
                owner_name=owner.username,
                actor=actor,
                actor_name=actor.username if actor is not None else SCHEDULED_ACTOR,
                parameters=parameters or {},
                started_at=timezone.now() if state == Operation.State.RUNNING else None,
            )
    except IntegrityError:
        active = active_for(owner.username)
        if active is None:  # finished between the insert and this query
            raise
        raise OperationInProgress(active) from None


def start(*, owner, actor, kind, task, parameters=None):
    """Record an operation and hand it to the task worker."""
    operation = open_operation(owner=owner, actor=actor, kind=kind, parameters=parameters)
    task.enqueue(operation.pk)
    return operation


def finish(operation, *, succeeded, message, detail=""):
    operation.state = Operation.State.SUCCEEDED if succeeded else Operation.State.FAILED
    operation.finished_at = timezone.now()
    operation.message = message
    operation.detail = detail
    operation.save(update_fields=["state", "finished_at", "message", "detail"])
    log = logger.info if succeeded else logger.warning
    log("%s: %s %s", operation, message, detail)


def execute(operation_id, work):
    """Run a queued operation: ``work(operation)`` returns the user's message.

    OperationFailed carries the user's message; anything else is reported as
    an unexpected error, its detail kept for the audit log and never shown.
    """
    operation = Operation.objects.get(pk=operation_id)
    if operation.state != Operation.State.QUEUED:
        logger.warning("%s was already started; not running it again", operation)
        return operation
    operation.state = Operation.State.RUNNING
    operation.started_at = timezone.now()
    operation.save(update_fields=["state", "started_at"])
    try:
        message = work(operation)
    except OperationFailed as failure:
        finish(operation, succeeded=False, message=failure.message, detail=failure.detail)
    except Exception as error:
        logger.exception("%s crashed", operation)
        finish(
            operation,
            succeeded=False,
            message=(
                "Something went wrong on the server. The details were recorded; please "
                f"contact {settings.SUPPORT_CONTACT} before trying again."
            ),
            detail=f"{type(error).__name__}: {error}",
        )
    else:
        finish(operation, succeeded=True, message=message, detail=operation.detail)
    return operation
