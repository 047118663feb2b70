"""The refusal an operation already running gives: a UserFacingError (the
ground floor's, backup.core.errors) that knows the operation."""

from django.utils.translation import gettext as _

from backup.core.errors import UserFacingError


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
