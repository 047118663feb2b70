"""The one exception the user is told about.

Like Zulip's JsonableError: whoever refuses or fails writes the sentence
once, where the reason is known; views and the task runner show
``message`` as it is and keep ``detail`` for the log and the audit record.
"""

from django.utils.translation import gettext as _

from .results import render


class UserFacingError(Exception):
    """Refused or failed; ``message`` says what happened and what to do."""

    # The HTTP status a page showing this refusal answers with.
    status = 400

    # The failure as facts (backup.operations.results) when it has them:
    # what an operation's record stores, to be told in each reader's language.
    result: dict | None = None

    def __init__(self, message: str, detail: str = "", *, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.detail = detail
        if status is not None:
            self.status = status

    @classmethod
    def of(cls, facts: dict, detail: str = "", *, owner_name: str = "") -> "UserFacingError":
        """Refused or failed with facts; ``message`` tells them in the active language."""
        failure = cls(render(facts, owner_name=owner_name), detail)
        failure.result = facts
        return failure


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
