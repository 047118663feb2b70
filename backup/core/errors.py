"""The one exception the user is told about.

Like Zulip's JsonableError: whoever refuses or fails writes the sentence
once, where the reason is known; the refusal middleware
(``backup.core.refusals``) and the task runner show ``message`` as it is
and keep ``detail`` for the log and the audit record.
"""


class UserFacingError(Exception):
    """Refused or failed; ``message`` says what happened and what to do."""

    # The HTTP status a page showing this refusal answers with.
    status = 400

    # The failure as facts (backup.operations.results) when it has them:
    # what an operation's record stores, to be told in each reader's
    # language (backup.operations.errors.failure makes such an error).
    result: dict | None = None

    def __init__(self, message: str, detail: str = "", *, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.detail = detail
        if status is not None:
            self.status = status
