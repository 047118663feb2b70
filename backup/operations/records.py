"""Operation records: who asked for what on whose volume, how far it got,
and how it ended. Only the database; starting and running are elsewhere
(services, runner)."""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from .errors import OperationInProgress
from .models import Operation
from .results import Result, stored_text

logger = logging.getLogger("backup.operations")

# The actor recorded when the portal itself acts (cleaning up after a
# dead worker).
SERVER_ACTOR = "(server)"

# Operation.parameters["refused"] of a request refused up front because the
# pool could not take it (record_refusal): the admin page counts them.
REFUSED_POOL_FULL = "pool_full"

# Inserting again after the operation that blocked the first attempt
# finished in between; more attempts than this means someone keeps the
# volume busy, which is what the user is told.
INSERT_ATTEMPTS = 3


def active_for(owner_name: str) -> Operation | None:
    return Operation.objects.filter(
        owner_name=owner_name, state__in=Operation.ACTIVE_STATES
    ).first()


def open_operation(
    *, owner, actor, kind: str, parameters: dict | None = None, worker: str = ""
) -> Operation:
    """Record a new operation (queued; running when ``worker`` runs it now),
    or raise OperationInProgress.

    The database's unique constraint is what refuses a second active
    operation, so two requests racing each other can't both get one.
    """
    now = timezone.now()
    for _attempt in range(INSERT_ATTEMPTS):
        try:
            with transaction.atomic():
                return Operation.objects.create(
                    kind=kind,
                    state=Operation.State.RUNNING if worker else Operation.State.QUEUED,
                    owner=owner,
                    owner_name=owner.username,
                    actor=actor,
                    actor_name=actor.username if actor else SERVER_ACTOR,
                    parameters=parameters or {},
                    started_at=now if worker else None,
                    heartbeat_at=now if worker else None,
                    worker=worker,
                )
        except IntegrityError:
            active = active_for(owner.username)
            if active is not None:
                raise OperationInProgress(active) from None
            # The blocking operation finished between the insert and the query.
    raise OperationInProgress(None)


def outcome_fields(owner_name: str, message: str | Result) -> dict:
    """The fields an outcome is saved in: facts (told at reading time) and
    their copy in the site's language, or a plain sentence as it is."""
    if isinstance(message, Result):
        return {"message": stored_text(message, owner_name=owner_name), "result": message}
    return {"message": message, "result": {}}


def finish(
    operation: Operation, *, succeeded: bool, message: str | Result, detail: str = ""
) -> bool:
    """End an active operation; False when it had already ended (an admin
    ended it, or it was found interrupted), which then keeps its outcome.

    Saved as a model (not a queryset update) so that post_save receivers
    (discovery rescans after a create) see it end.
    """
    with transaction.atomic():
        current = (
            Operation.objects.select_for_update()
            .filter(pk=operation.pk, state__in=Operation.ACTIVE_STATES)
            .first()
        )
        if current is None:
            logger.warning(
                "%s had already ended; its outcome is kept: %s %s", operation, message, detail
            )
            operation.refresh_from_db()
            return False
        operation.state = Operation.State.SUCCEEDED if succeeded else Operation.State.FAILED
        operation.finished_at = timezone.now()
        fields = outcome_fields(operation.owner_name, message)
        operation.message, operation.result = fields["message"], fields["result"]
        operation.detail = detail
        operation.save(update_fields=["state", "finished_at", "message", "result", "detail"])
    log = logger.info if succeeded else logger.warning
    log("%s: %s %s", operation, operation.message, detail)
    return True


def finished_version(owner_name: str) -> int:
    """Changes whenever an operation on the owner's volume finishes: part of
    the cache key of anything read from the volume, so that a cached answer
    never outlives a change the portal made."""
    latest = (
        Operation.objects.filter(owner_name=owner_name, finished_at__isnull=False)
        .order_by("-id")
        .values_list("pk", flat=True)
        .first()
    )
    return latest or 0


def record_refusal(
    *, owner, actor, kind: str, message: str, detail: str, parameters: dict | None = None
) -> Operation:
    """Record a request refused up front (nothing was started or changed) in
    the audit log: an operation that ended before it began, with the
    sentence the person was shown."""
    now = timezone.now()
    operation = Operation.objects.create(
        kind=kind,
        state=Operation.State.FAILED,
        owner=owner,
        owner_name=owner.username,
        actor=actor,
        actor_name=actor.username if actor else SERVER_ACTOR,
        parameters=parameters or {},
        finished_at=now,
        message=message,
        detail=detail,
    )
    logger.warning("%s refused: %s", operation, detail)
    return operation
