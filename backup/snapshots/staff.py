"""What the admins' snapshot page shows: the policy in force, every volume's
snapshots and their space in the pool (as the scheduled run stored them), the
last run, recent mass changes and the volumes waiting to be destroyed."""

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from backup.privileged import commands
from backup.privileged.client import PrivilegedError
from backup.volumes.models import Volume

from . import listing
from .models import MassChange, SnapshotRun

RECENT_MASS_CHANGES = 20
EARLY_DESTRUCTION_TOOL = "tools/destroy-protected.py"


@dataclass(frozen=True)
class VolumeRow:
    account: str
    snapshots: listing.VolumeSnapshots

    @property
    def newest(self):
        return self.snapshots.snapshots[0] if self.snapshots.snapshots else None

    @property
    def protected_count(self) -> int:
        return sum(1 for snapshot in self.snapshots.snapshots if snapshot.protected)


def policy() -> dict:
    return {
        "protection_days": settings.SNAPSHOT_PROTECTION_DAYS,
        "interval_minutes": settings.SNAPSHOT_INTERVAL_MINUTES,
        # A policy from before "frequent" keeps none at the finer resolution.
        "retention": {"frequent": 0, **settings.SNAPSHOT_RETENTION},
        "mass_change_share_percent": round(100 * settings.MASS_CHANGE_SHARE),
        "mass_change_min_files": settings.MASS_CHANGE_MIN_FILES,
        "mass_change_evidence_share_percent": round(100 * settings.MASS_CHANGE_EVIDENCE_SHARE),
        "mass_change_min_bytes": settings.MASS_CHANGE_MIN_BYTES,
    }


def early_destruction_command(account: str) -> str:
    """Root's tool beside the wrappers (never in sudoers; it asks for the
    name to be typed again at a terminal)."""
    return shlex.join([str(Path(settings.WRAPPERS_PATH) / EARLY_DESTRUCTION_TOOL), account])


def page_context() -> dict[str, Any]:
    context: dict[str, Any] = {
        "policy": policy(),
        "last_run": SnapshotRun.objects.first(),
        "mass_changes": MassChange.objects.select_related("snapshot")[:RECENT_MASS_CHANGES],
        "pending": [
            (volume, early_destruction_command(volume.account))
            for volume in Volume.objects.filter(suspended_at__isnull=False).order_by(
                "destroy_after"
            )
        ],
    }
    every = listing.all_snapshots(Volume.objects.values_list("account", flat=True))
    rows = [VolumeRow(account, every[account]) for account in sorted(every)]
    context["rows"] = rows
    context["snapshot_bytes"] = sum(row.snapshots.snapshot_bytes or 0 for row in rows)
    # Shown only when measured (the wrappers need btrfs quota groups for it).
    try:
        context["pool"] = commands.pool()  # the page's one privileged call
    except PrivilegedError:
        context["pool"] = None
    return context
