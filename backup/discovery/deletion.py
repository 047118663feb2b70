"""Deleting one computer's backups: the owner picks a source the last scan
recognised and types its name; rm-backup.py deletes it as the user, in the
task worker, running again while each run makes progress."""

import logging

from django.conf import settings
from django.utils.translation import gettext as _

from backup.core.errors import UserFacingError
from backup.operations import results
from backup.operations import services as operations
from backup.operations.errors import OperationInProgress, in_progress_sentence
from backup.operations.models import Operation
from backup.privileged import commands
from backup.privileged.client import Failed, PrivilegedError, Refused
from backup.volumes.models import Volume

from . import dashboard

logger = logging.getLogger("backup.discovery")

# rm-backup.py runs within the scan bounds and says "run it again" when one
# stopped it; a 2 TB Time Machine bundle (262,000 bands) takes two runs.
MAX_RUNS = 10


class DeleteRefused(UserFacingError):
    """Nothing was started; ``message`` says why, for the user."""


def source_of(volume: Volume, backup_format: str, path: str) -> dashboard.Machine | None:
    """The source the last scan found with that format at that path, if any."""
    for machine in dashboard.report_for(volume).machines:
        if machine.format == backup_format and machine.path == path:
            return machine
    return None


def request_delete(user, actor, backup_format: str, path: str, typed: str) -> Operation:
    volume = Volume.objects.filter(owner=user).first()
    if volume is None:
        raise DeleteRefused(_("You don't have a backup volume yet."))
    machine = source_of(volume, backup_format, path)
    if machine is None or path == ".":
        raise DeleteRefused(
            _(
                "That backup is not among those last found on your volume, so nothing was "
                "deleted. Press Check now, then choose it again."
            )
        )
    if (typed or "").strip() != machine.name:
        raise DeleteRefused(
            _("To confirm, type the computer's name (%(name)s) exactly. Nothing was deleted.")
            % {"name": machine.name}
        )
    try:
        return operations.start(
            owner=user,
            actor=actor,
            kind=Operation.Kind.DELETE_BACKUP_SOURCE,
            parameters={"format": backup_format, "path": path, "name": machine.name},
        )
    except OperationInProgress as busy:
        raise DeleteRefused(in_progress_sentence(busy.operation)) from None


def delete(operation: Operation) -> results.Result:
    """The work, in the task worker."""
    volume = Volume.objects.get(owner=operation.owner)
    backup_format, path = operation.parameters["format"], operation.parameters["path"]
    name = operation.parameters["name"]
    removed = 0
    for run in range(1, MAX_RUNS + 1):
        try:
            result = commands.remove_backup(volume.account, backup_format, path)
        except Failed as failure:
            if "run it again" in failure.reason and run < MAX_RUNS:
                logger.info("deleting %s on %s: %s", path, volume.account, failure.reason)
                continue
            raise UserFacingError(
                _(
                    "The backups of %(name)s were only partly deleted. Try again; if it keeps "
                    "failing, contact %(contact)s."
                )
                % {"name": name, "contact": _contact()},
                str(failure),
            ) from failure
        except Refused as refusal:
            raise UserFacingError(
                _("The backups of %(name)s were not deleted: %(reason)s.")
                % {"name": name, "reason": refusal.reason},
                str(refusal),
            ) from refusal
        except PrivilegedError as error:
            raise UserFacingError(
                _("The backups of %(name)s could not be deleted. Contact %(contact)s.")
                % {"name": name, "contact": _contact()},
                str(error),
            ) from error
        removed += result["removed_entries"]
        break
    operation.detail = f"{backup_format} at {path}: {removed} entries removed in {run} run(s)"
    return results.result("source_deleted", name=name)


def _contact():
    return settings.SUPPORT_CONTACT
