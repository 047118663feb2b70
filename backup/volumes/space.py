"""The pool's free space, asked of the server itself (one privileged call)."""

import logging

from django.utils.translation import gettext as _

from backup.core.errors import UserFacingError
from backup.privileged import commands
from backup.privileged.client import PrivilegedError

from .failures import support_contact
from .status import GIB

logger = logging.getLogger("backup.volumes")


def pool_free_gib() -> int:
    """Free space in the pool, in whole GiB (one privileged call)."""
    try:
        return int(commands.pool()["free_bytes"]) // GIB
    except PrivilegedError as error:
        logger.error("pool query failed: %s", error)
        raise UserFacingError(
            _(
                "The backup server can't report its free space right now, so nothing was "
                "attempted. Please try again later or contact %(contact)s."
            )
            % {"contact": support_contact()}
        ) from error
