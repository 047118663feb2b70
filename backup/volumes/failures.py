"""How a wrapper's failure becomes the sentence the person reads: what
happened, what to do, and whom to ask."""

import contextlib
from collections.abc import Iterator

from django.conf import settings

from backup.core.errors import UserFacingError
from backup.privileged.client import PrivilegedError, Refused


def support_contact() -> str:
    return str(settings.SUPPORT_CONTACT)


@contextlib.contextmanager
def failing_as(message: str, refused: str | None = None) -> Iterator[None]:
    """Ends the operation with ``message`` when a wrapper fails (``refused``
    when it refused, so nothing changed); {reason} is the wrapper's why."""
    try:
        yield
    except PrivilegedError as error:
        text = refused if refused is not None and isinstance(error, Refused) else message
        raise UserFacingError(
            text.format(reason=error.reason, contact=support_contact()), str(error)
        ) from error
