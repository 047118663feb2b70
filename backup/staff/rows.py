"""One row of the admins' volume table: a volume as the server and the
portal together know it (the wrappers' inventory, the database, statvfs)."""

import datetime
from dataclasses import dataclass

from backup.discovery.staff import VolumeBackups


@dataclass
class VolumeRow:
    account: str
    # The person whose volume it is; None for a volume the portal did not make.
    owner: str | None
    size_bytes: int
    mounted: bool
    filesystem: str | None
    # Read from the mounted filesystem (statvfs); None when not mounted.
    used_bytes: int | None
    total_bytes: int | None
    created_at: datetime.datetime | None
    known_to_portal: bool
    on_server: bool
    pending_destruction: bool
    # The most the owner's volume may grow to, in GiB (None: no owner).
    quota_gib: int | None
    # The last operation on the volume failed (the audit log says why).
    last_operation_failed: bool
    # What the last backup scan found; None when never scanned.
    backups: VolumeBackups | None = None
    # Past the lowest of NEAR_QUOTA_PERCENTS (when the inventory was taken):
    # its owner has been warned.
    nearly_full: bool = False

    @property
    def percent(self) -> int | None:
        if self.used_bytes is None or not self.total_bytes:
            return None
        return round(100 * self.used_bytes / self.total_bytes)

    @property
    def failing(self) -> bool:
        """Something an admin must fix: gone from the server, not mounted
        (unless deleted and waiting for destruction), unknown to the
        portal, or its last operation failed."""
        return (
            not self.on_server
            or not self.known_to_portal
            or (not self.mounted and not self.pending_destruction)
            or self.last_operation_failed
        )
