"""Scan again right after an operation that changes what a volume holds,
so that the dashboard is right at once rather than at the next periodic
scan: a new volume ("No backups yet" instead of "not checked yet"), and
deleted Time Machine backups."""

import contextlib

from django.db import transaction
from django.db.models.signals import post_save

from backup.operations.models import Operation
from backup.volumes.models import Volume

from . import scans

CHANGES_BACKUPS = (
    Operation.Kind.CREATE,
    Operation.Kind.DELETE_TIME_MACHINE,
    Operation.Kind.DELETE_BACKUP_SOURCE,
)


def _rescan(owner_id):
    volume = Volume.objects.filter(owner_id=owner_id).first()
    if volume is None:
        return
    # A failure is recorded on the scan and logged; the operation succeeded.
    with contextlib.suppress(scans.ScanFailed):
        scans.refresh(volume)


def operation_saved(sender, instance, update_fields=None, **kwargs):
    finished = update_fields is None or "state" in update_fields
    if finished and instance.kind in CHANGES_BACKUPS and instance.succeeded:
        owner_id = instance.owner_id
        # After the commit: the scan is a subprocess; no database lock is
        # held while it runs, and a rolled-back operation scans nothing.
        transaction.on_commit(lambda: _rescan(owner_id), robust=True)


def connect():
    post_save.connect(operation_saved, sender=Operation, dispatch_uid="discovery-rescan")
