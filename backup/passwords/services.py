"""Giving a person a new backup password (Unix and Samba together).

The password goes to the wrappers on stdin and back to the person once:
the view keeps it in their server-side session only until the page after
its redirect shows it (backup/passwords/views.py). It is never logged or
queued.
"""

from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from backup.core import password_generator
from backup.core.errors import UserFacingError
from backup.operations import records
from backup.operations import services as operations
from backup.operations.models import Operation
from backup.operations.results import result
from backup.privileged import commands
from backup.privileged.client import PrivilegedError


@sensitive_variables("password")
def set_new_password(volume, actor):
    """Set a fresh password for the volume's account; return it (once)."""
    operation = operations.begin(owner=volume.owner, actor=actor, kind=Operation.Kind.NEW_PASSWORD)
    password = password_generator.generate()
    try:
        commands.set_unix_password(volume.account, password)
        commands.set_samba_password(volume.account, password)
    except PrivilegedError as error:
        records.finish(
            operation,
            succeeded=False,
            message=result("password_not_set"),
            detail=str(error),
        )
        raise UserFacingError(operation.outcome_for(actor.get_username()), status=502) from None
    volume.password_changed_at = timezone.now()
    volume.save(update_fields=["password_changed_at"])
    records.finish(operation, succeeded=True, message=result("password_set"))
    return password
