"""Which function does the work of each kind of operation, and which one
undoes what an interrupted run of it left behind.

The app that owns the work registers it when Django starts (its
AppConfig.ready), so the task runner never imports the apps above it.
"""

from collections.abc import Callable

from .results import Result

# work(operation) -> what it did as facts (results.result, told in each
# reader's language) or, from older code, a sentence; raises
# UserFacingError when it fails. An undo gets the interrupted operation
# and works the same way.
Work = Callable[..., "str | Result"]

_work: dict[str, Work] = {}
_undo: dict[str, Work] = {}


def register(kind: str, work: Work, *, undo: Work | None = None) -> None:
    if _work.get(kind, work) is not work:
        raise ValueError(f"operation kind {kind!r} already has work registered")
    _work[kind] = work
    if undo is not None:
        _undo[kind] = undo


def work_for(kind: str) -> Work:
    try:
        return _work[kind]
    except KeyError:
        raise LookupError(f"no work is registered for operation kind {kind!r}") from None


def undo_for(kind: str) -> Work | None:
    return _undo.get(kind)
