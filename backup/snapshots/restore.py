"""Restoring from snapshots: browse one folder (bounded, in the request),
restore a file or folder next to the live data, or restore the whole volume
(both in the task worker, as operations with an audit record)."""

import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from backup.operations import results
from backup.operations.errors import UserFacingError
from backup.operations.models import Operation
from backup.privileged import commands
from backup.privileged.client import PrivilegedError, Refused
from backup.volumes import services as volumes
from backup.volumes.models import Volume

from .models import Snapshot
from .services import SNAPSHOT_NAME, refresh_listing

# A ref is the base64url (unpadded) of one raw name; a path is "." or refs
# joined with "/". Names reach the wrapper only this way, never as text. A
# path never starts with "-", which argv would read as an option (only a
# name starting with a byte that is never UTF-8 encodes so; its folder can
# still be restored whole).
REF = r"[A-Za-z0-9_-]{1,400}"
PATH = re.compile(rf"\.|(?!-){REF}(?:/{REF}){{0,63}}")
MAX_PATH_CHARS = 4096
ENTRY_TYPES = {"dir", "file", "link", "other"}
MAX_NAME_CHARS = 1024


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
    modified: str | None

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
    volume = volumes.volume_of(user)
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


def _entry(raw) -> Entry | None:
    if not isinstance(raw, dict):
        return None
    ref, name = raw.get("ref"), raw.get("name")
    if not isinstance(ref, str) or not re.fullmatch(REF, ref) or not isinstance(name, str):
        return None
    size = raw.get("size_bytes")
    modified = raw.get("modified")
    return Entry(
        ref=ref,
        name=name[:MAX_NAME_CHARS],
        type=kind if isinstance(kind := raw.get("type"), str) and kind in ENTRY_TYPES else "other",
        size_bytes=size if isinstance(size, int) and not isinstance(size, bool) else None,
        modified=modified[:40] if isinstance(modified, str) else None,
    )


def browse(user, snapshot: str, path: str) -> Folder:
    """One folder of a snapshot, read as the volume's owner (bounded by the wrapper)."""
    volume = _btrfs_volume(user)
    _check(snapshot, path)
    try:
        result = commands.browse_snapshot(volume.account, snapshot, path) or {}
    except Refused as refusal:
        raise UserFacingError(
            _("This folder can't be shown: %(reason)s.") % {"reason": refusal.reason}
        ) from refusal
    except PrivilegedError as error:
        raise UserFacingError(
            _("The backup server could not read this snapshot right now. Please try again later.")
        ) from error
    listed = result.get("entries")
    raw: list[Any] = listed if isinstance(listed, list) else []
    entries = [entry for entry in map(_entry, raw[: settings.SNAPSHOT_BROWSE_PAGE]) if entry]
    entries.sort(key=lambda entry: (entry.type != "dir", entry.name.casefold()))
    counted = result.get("total")
    total = counted if isinstance(counted, int) else len(entries)
    truncated = bool(result.get("truncated")) or len(raw) > len(entries)
    return Folder(snapshot=snapshot, path=path, entries=entries, total=total, truncated=truncated)


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


def restore(operation: Operation) -> results.Result:
    volume = Volume.objects.get(owner=operation.owner)
    snapshot, path = operation.parameters["snapshot"], operation.parameters["path"]
    try:
        result = commands.restore_from_snapshot(volume.account, snapshot, path) or {}
    except Refused as refusal:
        raise _fail(
            _("Nothing was restored: %(reason)s.") % {"reason": refusal.reason}, refusal
        ) from refusal
    except PrivilegedError as error:
        raise _fail(
            _(
                "Restoring stopped before the end; what was copied is in a folder named "
                "“Restored … from snapshot” on your volume. Try again, or contact %(contact)s."
            )
            % {"contact": settings.SUPPORT_CONTACT},
            error,
        ) from error
    restored_to = str(result.get("restored_to", ""))[:MAX_NAME_CHARS]
    operation.detail = (
        f"{snapshot} {path} -> {restored_to}: {result.get('files')} files, "
        f"{result.get('bytes')} bytes"
    )
    return results.result(
        "restored",
        files=int(result.get("files") or 0),
        snapshot=snapshot,
        folder=restored_to.rsplit("/", 1)[-1],
    )


def rollback(operation: Operation) -> results.Result:
    volume = Volume.objects.get(owner=operation.owner)
    snapshot = operation.parameters["snapshot"]
    try:
        result = commands.roll_back(volume.account, snapshot) or {}
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
    kept_as = str(result.get("kept_as", ""))[:40]
    # What the rollback undid: never offered as a restore point.
    Snapshot.objects.filter(account=volume.account, name=kept_as).update(kept_by_rollback=True)
    operation.detail = f"rolled back to {snapshot}; previous state kept as {kept_as}"
    return results.result("rolled_back", snapshot=snapshot, kept_as=kept_as)


WORK = {
    Operation.Kind.RESTORE: restore,
    Operation.Kind.ROLLBACK: rollback,
}
