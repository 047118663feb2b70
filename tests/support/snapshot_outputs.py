"""Recorded outputs of the snapshot wrappers, as the agreed interface
(wrappers/README.md) describes them, and fixtures that make the portal use
them through its real privileged client. Each is parsed, when recorded, by
the parser the client uses (support.recorded_wrappers). (make_volume, which
these tests pair with ``recorded``, is in support/people.py.)"""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from backup.privileged.results import CHANGE_COUNTS
from backup.snapshots import services
from support.recorded_wrappers import RecordedWrappers

MIB = 1024**2
GIB = 1024**3


@pytest.fixture
def recorded(tmp_path, settings):
    settings.WRAPPERS_PATH = tmp_path
    settings.WRAPPERS_USE_SUDO = False
    settings.MASS_CHANGE_MIN_BYTES = 10 * MIB
    settings.ALERT_ADMIN_EMAILS = ["admins@example.com"]
    cache.clear()
    recorded = RecordedWrappers(tmp_path)
    # The run's second call (the space all snapshots hold), until a test says more.
    recorded.answer("snapshot-list.py", {"volumes": {}})
    return recorded


def name_at(when):
    return when.strftime("@GMT-%Y.%m.%d-%H.%M.%S")


def outcome(
    snapshot, changed, used, pruned=(), error=None, files=3, change=None, window=None, holds=None
):
    return {
        "supported": True,
        "snapshot": snapshot,
        "changed_bytes": changed,
        "changed_files": files if changed is not None else None,
        "change": change,
        "window_change": window,
        "holds_bytes": holds,
        "used_bytes": used,
        "size_bytes": GIB,
        "pruned": list(pruned),
        "error": error,
    }


def measured(base, held, **counts):
    """A change report as snapshot-create.py gives it (counts default to 0)."""
    return {"base": base, "held_bytes": held, "complete": True, **dict.fromkeys(CHANGE_COUNTS, 0),
            **counts}  # fmt: skip


def run_at(recorded, when, volumes_out):
    recorded.answer(
        "snapshot-create.py",
        {"taken_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "volumes": volumes_out},
    )
    call_command("take_snapshots")


def listed(account, *snapshots, snapshot_bytes=50 * MIB, used=200 * MIB, size=GIB):
    now = timezone.now()
    entries = []
    for taken_at in snapshots:
        until = taken_at + timedelta(days=14)
        entries.append(
            {
                "name": name_at(taken_at),
                "taken_at": taken_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "protected_until": until.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "protected": until > now,
                "exclusive_bytes": 5 * MIB,
            }
        )
    return {
        "volumes": {
            account: {
                "supported": True,
                "snapshots": entries,
                "snapshot_bytes": snapshot_bytes,
                "used_bytes": used,
                "size_bytes": size,
            }
        }
    }


def unsupported(account):
    """snapshot-list.py for a volume without snapshots (ext4/xfs, or not mounted)."""
    return {
        "volumes": {
            account: {"supported": False, "snapshots": [], "snapshot_bytes": None,
                      "used_bytes": 0, "size_bytes": 0}
        }
    }  # fmt: skip


def hours_ago(hours):
    return (timezone.now() - timedelta(hours=hours)).replace(microsecond=0)


def answer_dashboard(recorded, volume, *taken, mounted_at=None, **space):
    """mounted_at: a directory standing in for the mounted volume (the page
    reads its usage with statvfs); None: not mounted."""
    recorded.answer(
        f"lvdisplay.py {volume.account}",
        {
            "volume": {
                "user": volume.account,
                "size_bytes": GIB,
                "device": "/dev/loop7" if mounted_at is not None else None,
                "mounted": mounted_at is not None,
                "mount_point": str(mounted_at or "/nonexistent"),
                "filesystem": volume.filesystem,
            }
        },
    )
    # What the hourly run stores from snapshot-list.py; pages read only that.
    recorded.answer("snapshot-list.py", listed(volume.account, *taken, **space))
    services.refresh_listing()
    recorded.forget_calls()


HOSTILE_NAME = '<script>alert("x")</script>\\x1b[31m'


def answer_browse(recorded, volume, snapshot, path="."):
    recorded.answer(
        f"snapshot-browse.py {volume.account} {snapshot} {path}",
        {
            "user": volume.account,
            "supported": True,
            "snapshot": snapshot,
            "path": path,
            "entries": [
                {"ref": "PHNjcmlwdD4", "name": HOSTILE_NAME, "type": "file",
                 "size_bytes": 12, "modified": "2026-11-30T10:00:00Z"},
                {"ref": "RG9jcw", "name": "Docs", "type": "dir",
                 "size_bytes": 0, "modified": "2026-11-30T10:00:00Z"},
            ],
            "total": 2,
            "truncated": False,
        },
    )  # fmt: skip
