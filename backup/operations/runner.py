"""Running one queued operation in the task worker: claimed once, kept
alive by a heartbeat while its work runs, ended with the sentence the work
returns or raises."""

import logging
import threading

from django.conf import settings
from django.db import connection
from django.utils import timezone, translation

from backup.core.errors import UserFacingError
from backup.pages.languages import language_of
from backup.pages.zones import zone_of

from . import records, registry, workers
from .models import Operation
from .results import Result, result

logger = logging.getLogger("backup.operations")


def claim(operation_id: int, worker: str) -> Operation | None:
    """QUEUED -> RUNNING, once: a second delivery of the task, or an
    operation an admin ended meanwhile, is not run."""
    now = timezone.now()
    claimed = Operation.objects.filter(pk=operation_id, state=Operation.State.QUEUED).update(
        state=Operation.State.RUNNING, started_at=now, heartbeat_at=now, worker=worker
    )
    if not claimed:
        logger.warning("operation %s was already started or ended; not running it", operation_id)
        return None
    return Operation.objects.get(pk=operation_id)


class Heartbeat:
    """While the block runs, a thread marks the operation alive."""

    def __init__(self, operation: Operation, worker: str):
        self.operation_id = operation.pk
        self.worker = worker
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="operation-heartbeat", daemon=True)

    def _beat(self) -> None:
        try:
            while not self.stop.wait(settings.OPERATION_HEARTBEAT_SECONDS):
                Operation.objects.filter(
                    pk=self.operation_id, state=Operation.State.RUNNING, worker=self.worker
                ).update(heartbeat_at=timezone.now())
        except Exception:
            # Without heartbeats the operation is taken for dead later; the
            # work itself goes on.
            logger.exception("heartbeat of operation %s stopped", self.operation_id)
        finally:
            connection.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stop.set()
        self.thread.join()


def _outcome(operation: Operation) -> tuple[bool, str | Result, str]:
    try:
        message = registry.work_for(operation.kind)(operation)
    except UserFacingError as failure:
        told = Result(failure.result) if failure.result is not None else failure.message
        return False, told, failure.detail
    except Exception as error:
        logger.exception("%s crashed", operation)
        return False, server_error_sentence(), f"{type(error).__name__}: {error}"
    return True, message, operation.detail


def server_error_sentence() -> Result:
    return result("server_error")


def execute(operation_id: int) -> Operation | None:
    """Run a queued operation: its kind's registered work returns the
    user's message. UserFacingError carries the user's message; anything
    else is reported as an unexpected error, its detail kept for the audit
    log and never shown."""
    worker = workers.this_process()
    operation = claim(operation_id, worker)
    if operation is None:
        return None
    # Outcomes are stored as facts told in each reader's language; a plain
    # sentence a work still returns or raises is in the language and time
    # zone of whoever asked (the person waiting for it), not the worker's.
    asker = operation.actor or operation.owner
    with translation.override(language_of(asker)), timezone.override(zone_of(asker)):
        return _execute(operation, worker)


def _execute(operation: Operation, worker: str) -> Operation:
    with Heartbeat(operation, worker):
        succeeded, message, detail = _outcome(operation)
    try:
        records.finish(operation, succeeded=succeeded, message=message, detail=detail)
    except Exception:
        # The outcome itself could not be saved: the operation must still
        # end, or it would hold the volume until taken for dead.
        logger.exception("%s: saving its outcome failed", operation)
        records.finish(
            operation,
            succeeded=False,
            message=server_error_sentence(),
            detail="the outcome could not be saved; see the log",
        )
    return operation


def clean_up(operation: Operation) -> str | Result:
    """The work of a cleanup operation: undo what the interrupted one did
    (given a cleanup that was itself interrupted, what its original did)."""
    interrupted = Operation.objects.get(pk=operation.parameters["interrupted"])
    undo = registry.undo_for(interrupted.kind)
    if undo is None:
        raise LookupError(f"nothing undoes {interrupted.kind!r}")
    return undo(interrupted)
