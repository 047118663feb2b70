"""Restoring from snapshots: browse one folder (bounded, in the request),
restore a file or folder next to the live data, or restore the whole volume
(both in the task worker, as operations with an audit record)."""

import re
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils.translation import gettext as _

from backup.core.errors import UserFacingError
from backup.core.times import file_name_time, parse_time
from backup.operations import results as outcomes
from backup.operations.models import Operation
from backup.privileged import commands, results
from backup.privileged.client import PrivilegedError, Refused
from backup.volumes import requests as volumes
from backup.volumes.models import Volume, volume_of

from . import paths
from .models import Snapshot
from .services import SNAPSHOT_NAME, refresh_listing, taken_at_of

# A ref is the base64url (unpadded) of one raw name; a path is "." or refs
# joined with "/". Names reach the wrapper only this way, never as text. A
# path never starts with "-", which argv would read as an option (only a
# name starting with a byte that is never UTF-8 encodes so; its folder can
# still be restored whole).
REF = r"[A-Za-z0-9_-]{1,400}"
PATH = re.compile(rf"\.|(?!-){REF}(?:/{REF}){{0,63}}")
MAX_PATH_CHARS = 4096


def valid_snapshot(name: str) -> bool:
    return bool(SNAPSHOT_NAME.fullmatch(name or ""))


def valid_path(path: str) -> bool:
    return len(path or "") <= MAX_PATH_CHARS and bool(PATH.fullmatch(path or ""))


def parent_of(path: str) -> str | None:
    if path == ".":
        return None
    return path.rpartition("/")[0] or "."


@dataclass(frozen=True)
class Entry:
    ref: str
    name: str  # display-safe (the wrapper escapes); still escaped by templates
    type: str
    size_bytes: int | None
    modified: datetime | None

    def path_below(self, folder: str) -> str:
        return self.ref if folder == "." else f"{folder}/{self.ref}"


@dataclass(frozen=True)
class Folder:
    snapshot: str
    path: str
    entries: list
    total: int
    truncated: bool


def _btrfs_volume(user) -> Volume:
    volume = volume_of(user)
    if volume is None:
        raise UserFacingError(_("You don't have a backup volume yet."))
    if volume.suspended_at is not None:
        raise UserFacingError(
            _("Your volume is being deleted. Undo the deletion first, then restore.")
        )
    if volume.filesystem != Volume.Filesystem.BTRFS:
        raise UserFacingError(_("Snapshots need a btrfs volume; yours is not one."))
    return volume


def _check(snapshot: str, path: str | None = None) -> None:
    if not valid_snapshot(snapshot) or (path is not None and not valid_path(path)):
        raise UserFacingError(_("That snapshot or folder does not exist. Nothing was done."))


def _entry(raw: results.Entry) -> Entry:
    return Entry(
        ref=raw["ref"],
        name=raw["name"],
        type=raw["type"],
        size_bytes=raw["size_bytes"],
        modified=parse_time(raw["modified"]),
    )


def browse(user, snapshot: str, path: str) -> Folder:
    """One folder of a snapshot, read as the volume's owner (bounded by the wrapper)."""
    volume = _btrfs_volume(user)
    _check(snapshot, path)
    try:
        result = commands.browse_snapshot(volume.account, snapshot, path)
    except Refused as refusal:
        raise UserFacingError(
            _("This folder can't be shown: %(reason)s.") % {"reason": refusal.reason}
        ) from refusal
    except PrivilegedError as error:
        raise UserFacingError(
            _("The backup server could not read this snapshot right now. Please try again later.")
        ) from error
    raw = result["entries"]
    entries = [_entry(entry) for entry in raw[: settings.SNAPSHOT_BROWSE_PAGE]]
    entries.sort(key=lambda entry: (entry.type != "dir", entry.name.casefold()))
    total = result["total"]
    truncated = result["truncated"] or len(raw) > len(entries)
    return Folder(snapshot=snapshot, path=path, entries=entries, total=total, truncated=truncated)


def download(user, snapshot: str, path: str):
    """One file of a snapshot, read as the owner by the wrapper (which
    refuses folders, links, special files and files over its size cap):
    a client.Stream whose .header has the file's name and size."""
    volume = _btrfs_volume(user)
    _check(snapshot, path)
    if path == ".":
        raise UserFacingError(_("Choose a file to download. Nothing was downloaded."))
    try:
        return commands.read_snapshot_file(volume.account, snapshot, path)
    except Refused as refusal:
        raise UserFacingError(
            _("This file can't be downloaded: %(reason)s.") % {"reason": refusal.reason}
        ) from refusal
    except PrivilegedError as error:
        raise UserFacingError(
            _("The backup server could not read this snapshot right now. Please try again later.")
        ) from error


def request_restore(user, actor, snapshot: str, path: str) -> Operation:
    _btrfs_volume(user)
    _check(snapshot, path)
    return volumes.start_operation(
        user, actor, Operation.Kind.RESTORE, {"snapshot": snapshot, "path": path}
    )


def request_rollback(user, actor, snapshot: str, typed_confirmation: str) -> Operation:
    volume = _btrfs_volume(user)
    _check(snapshot)
    if (typed_confirmation or "").strip() != volume.account:
        raise UserFacingError(
            _("To confirm, type your user name (%(account)s) exactly. Nothing was restored.")
            % {"account": volume.account}
        )
    return volumes.start_operation(user, actor, Operation.Kind.ROLLBACK, {"snapshot": snapshot})


def _fail(message: str, error: PrivilegedError):
    return UserFacingError(message, str(error))


def restore(operation: Operation) -> outcomes.Result:
    volume = Volume.objects.get(owner=operation.owner)
    snapshot, path = operation.parameters["snapshot"], operation.parameters["path"]
    taken_at = taken_at_of(snapshot)
    if taken_at is None:  # never: checked when the restore was asked for
        raise UserFacingError(_("That snapshot or folder does not exist. Nothing was done."))
    # Named in the asker's language and time zone (the runner activates
    # both); the wrapper refuses anything but one plain folder name.
    folder = _("Restored %(when)s from snapshot") % {"when": file_name_time(taken_at)}
    try:
        result = commands.restore_from_snapshot(volume.account, snapshot, path, folder)
    except Refused as refusal:
        raise _fail(
            _("Nothing was restored: %(reason)s.") % {"reason": refusal.reason}, refusal
        ) from refusal
    except PrivilegedError as error:
        raise _fail(
            _(
                "Restoring stopped before the end; what was copied is in a folder named "
                "“%(folder)s” on your volume. Try again, or contact %(contact)s."
            )
            % {"folder": folder, "contact": settings.SUPPORT_CONTACT},
            error,
        ) from error
    restored_to = result["restored_to"]
    # Readable in the audit log: the path decoded, never its refs.
    operation.detail = (
        f"{snapshot} {paths.readable(path)} -> {restored_to}: {result['files']} files, "
        f"{result['bytes']} bytes"
    )
    return outcomes.result(
        "restored",
        files=result["files"],
        snapshot=snapshot,
        folder=restored_to.rsplit("/", 1)[-1],
    )


def rollback(operation: Operation) -> outcomes.Result:
    volume = Volume.objects.get(owner=operation.owner)
    snapshot = operation.parameters["snapshot"]
    try:
        result = commands.roll_back(volume.account, snapshot)
    except Refused as refusal:
        raise _fail(
            _("Your volume was not changed: %(reason)s.") % {"reason": refusal.reason}, refusal
        ) from refusal
    except PrivilegedError as error:
        raise _fail(
            _("Restoring your volume failed. Please contact %(contact)s.")
            % {"contact": settings.SUPPORT_CONTACT},
            error,
        ) from error
    refresh_listing(volume.account)  # the state kept as a new snapshot shows at once
    kept_as = result["kept_as"]
    # What the rollback undid: never offered as a restore point.
    Snapshot.objects.filter(volume=volume, name=kept_as).update(kept_by_rollback=True)
    operation.detail = f"rolled back to {snapshot}; previous state kept as {kept_as}"
    return outcomes.result("rolled_back", snapshot=snapshot, kept_as=kept_as)


WORK = {
    Operation.Kind.RESTORE: restore,
    Operation.Kind.ROLLBACK: rollback,
}
