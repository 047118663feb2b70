"""The refusal an operation already running gives: a UserFacingError (the
ground floor's, backup.core.errors) that knows the operation."""

from django.utils.translation import gettext as _

from backup.core.errors import UserFacingError

from .results import render


def failure(facts: dict, detail: str = "", *, owner_name: str = "") -> UserFacingError:
    """Refused or failed with facts (backup.operations.results): ``message``
    tells them in the active language, ``result`` keeps them for the
    operation's record, told again in each reader's language."""
    refused = UserFacingError(render(facts, owner_name=owner_name), detail)
    refused.result = facts
    return refused


def in_progress_sentence(operation) -> str:
    """Why a second operation is refused; ``operation`` is the one running,
    None when it could not be told (it changed while we looked)."""
    if operation is None:
        return _(
            "Another operation is in progress for your volume. "
            "Wait until it has finished, then try again."
        )
    return _(
        "“%(kind)s” is still in progress for your volume. "
        "Wait until it has finished, then try again."
    ) % {"kind": operation.get_kind_display()}


class OperationInProgress(UserFacingError):
    """Another operation holds the volume; nothing was recorded or started."""

    status = 409

    def __init__(self, operation):
        super().__init__(in_progress_sentence(operation), f"{operation} is active")
        self.operation = operation
