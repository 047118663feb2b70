"""The portal's snapshot side on the real wrappers: a volume made through
the portal (btrfs by default), the hourly run storing real snapshots and
their measured change, a mass change raising the alert with the right
restore point, browse and restore, restoring the whole volume, and deferred
deletion (suspend, undo, destruction when protection ends)."""

import io
import os
import pwd
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from backup.core.times import absolute_time
from backup.operations.models import Operation
from backup.snapshots import restore
from backup.snapshots.models import MassChange, Snapshot, SnapshotRun
from backup.volumes import requests
from backup.volumes.models import Volume
from support import snapshots as snap
from support.storage import mount_options, mount_point

pytestmark = [pytest.mark.root, pytest.mark.django_db(transaction=True)]
MIB = 1024**2


def wire(when):
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def portal_volume(portal, make_real_volume, settings):
    """A btrfs volume made by the portal; removed by hand afterwards, since
    its protected snapshots make lvremove.py refuse."""
    assert settings.VOLUME_FILESYSTEM == "btrfs"
    volume = make_real_volume(email="owner@example.com")
    try:
        yield volume
    finally:
        snap.clean_snapshot_volume(portal, volume.account)


def test_the_hourly_run_stores_real_snapshots_and_alerts_on_a_mass_change(
    portal, portal_volume, settings
):
    settings.MASS_CHANGE_MIN_BYTES = 4 * MIB
    settings.MASS_CHANGE_MIN_FILES = 3
    settings.ALERT_ADMIN_EMAILS = ["admins@example.com"]
    account = portal_volume.account
    entry = pwd.getpwnam(account)
    files = [mount_point(portal, account) / f"document{n}.bin" for n in range(3)]
    for path in files:
        snap.write_as(entry, path, os.urandom(8 * MIB))
    os.sync()
    # Runs at :05, each its hour's first (protected the full 14 days).
    start = (datetime.now(UTC) - timedelta(hours=3)).replace(minute=5, second=0, microsecond=0)
    before, after = start + timedelta(hours=1), start + timedelta(hours=2)

    with snap.clock(portal, wire(before)):
        call_command("take_snapshots")
    first = Snapshot.objects.get(volume__account=account)
    assert first.name == before.strftime("@GMT-%Y.%m.%d-%H.%M.%S")
    assert first.taken_at == before
    assert first.changed_bytes is None  # a volume's first snapshot
    assert first.protected_until == before + timedelta(days=14)
    assert first.used_bytes >= 24 * MIB
    assert SnapshotRun.objects.get().errors == {}

    # Every file rewritten, as ransomware does on a share it reaches.
    for path in files:
        snap.write_as(entry, path, os.urandom(8 * MIB))
    os.sync()
    with snap.clock(portal, wire(after)):
        call_command("take_snapshots")
    second = Snapshot.objects.get(volume__account=account, taken_at=after)
    assert second.changed_bytes >= 24 * MIB
    assert second.changed_files == 3
    # Overwritten, not new: what existed was destroyed, measured exactly.
    assert second.change["overwritten_files"] == 3
    assert second.change["overwritten_bytes"] == 24 * MIB
    assert (second.change["new_files"], second.change["base"]) == (0, first.name)
    assert second.change["held_bytes"] >= 24 * MIB
    change = MassChange.objects.get()
    assert (change.snapshot.name, change.restore_point) == (second.name, first.name)
    assert sorted(message.to[0] for message in mail.outbox) == [
        "admins@example.com",
        "owner@example.com",
    ]
    assert all(first.name in message.body for message in mail.outbox)

    page = Client(REMOTE_USER=account).get("/").content.decode()
    assert 'data-testid="mass-change"' in page
    table = page[page.index('data-testid="snapshot-table"') :]
    assert table.index(second.name) < table.index(first.name)


def test_restore_rollback_and_deferred_deletion_from_the_portal(portal, portal_volume, monkeypatch):
    account, owner = portal_volume.account, portal_volume.owner
    entry = pwd.getpwnam(account)
    data = mount_point(portal, account)
    snap.write_as(entry, data / "report.txt", b"the original report\n")
    snap.write_as(entry, data / "<i>bold<i>.txt", b"markup in a name\n")
    originals = snap.checksums(data)
    # At :05, its hour's first (protected the full 14 days), as is the kept one.
    taken = (datetime.now(UTC) - timedelta(hours=2)).replace(minute=5, second=0, microsecond=0)
    with snap.clock(portal, wire(taken)):
        call_command("take_snapshots")
    snapshot = Snapshot.objects.get(volume__account=account).name
    snap.write_as(entry, data / "report.txt", b"encrypted garbage\n")

    # Browse: the page shows the hostile name escaped, addressed by its ref.
    folder = restore.browse(owner, snapshot, ".")
    refs = {item.name: item.ref for item in folder.entries}
    assert set(refs) == {"report.txt", "<i>bold<i>.txt"}
    page = Client(REMOTE_USER=account).get(f"/snapshots/{snapshot}/").content.decode()
    assert "&lt;i&gt;bold&lt;i&gt;.txt" in page
    assert "<i>bold" not in page

    # A file, next to the live one, never over it.
    operation = restore.request_restore(owner, owner, snapshot, refs["report.txt"])
    operation.refresh_from_db()
    assert operation.state == Operation.State.SUCCEEDED, operation.detail
    [restored] = [path for path in data.iterdir() if path.name.startswith("Restored ")]
    assert (restored / "report.txt").read_bytes() == b"the original report\n"
    assert (data / "report.txt").read_bytes() == b"encrypted garbage\n"
    assert restored.name in operation.message

    # The whole volume, the replaced state kept as a snapshot first.
    with snap.clock(portal, wire(taken + timedelta(hours=1))):
        operation = restore.request_rollback(owner, owner, snapshot, account)
    operation.refresh_from_db()
    assert operation.state == Operation.State.SUCCEEDED, operation.detail
    assert snap.checksums(data) == originals
    kept = Snapshot.objects.filter(volume__account=account).exclude(name=snapshot).get()
    # Named by its time in the reader's zone, never by its @GMT name.
    assert f"kept as the snapshot of {absolute_time(kept.taken_at)}." in operation.message
    assert kept.name not in operation.message

    # Deleting suspends it until the newest snapshot's protection ends...
    operation = requests.request_delete(owner, owner, account)
    operation.refresh_from_db()
    assert operation.state == Operation.State.SUCCEEDED, operation.detail
    portal_volume.refresh_from_db()
    assert portal_volume.destroy_after == kept.taken_at + timedelta(days=14)
    assert mount_options(data) is None
    # ...the owner can undo it...
    operation = requests.request_undo_delete(owner, owner)
    operation.refresh_from_db()
    assert operation.state == Operation.State.SUCCEEDED, operation.detail
    assert snap.checksums(data) == originals
    # ...and once deleted again, destroy_due_volumes (its own scheduled
    # command; take_snapshots destroys nothing) destroys it only when the
    # protection ends, by the portal's clock and the wrappers'.
    requests.request_delete(owner, owner, account)
    portal_volume.refresh_from_db()
    ends = portal_volume.destroy_after
    _destroy_due_at(portal, ends - timedelta(minutes=1), monkeypatch)
    assert Volume.objects.filter(account=account).exists()
    assert not Operation.objects.filter(owner_name=account, kind=Operation.Kind.DESTROY).exists()
    said = _destroy_due_at(portal, ends + timedelta(minutes=1), monkeypatch)
    destroyed = Operation.objects.get(owner_name=account, kind=Operation.Kind.DESTROY)
    assert destroyed.state == Operation.State.SUCCEEDED, destroyed.detail
    assert f"destroyed: {account}: " in said
    assert not Volume.objects.filter(account=account).exists()
    assert not Snapshot.objects.filter(volume__account=account).exists()
    with pytest.raises(KeyError):
        pwd.getpwnam(account)


def _destroy_due_at(portal, when, monkeypatch):
    """Run the destroy_due_volumes command as cron would, at ``when``; what it
    printed with -v 2."""
    out = io.StringIO()
    with snap.clock(portal, wire(when)), monkeypatch.context() as patched:
        patched.setattr(timezone, "now", lambda: when)
        call_command("destroy_due_volumes", verbosity=2, stdout=out)
    return out.getvalue()
