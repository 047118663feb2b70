"""What the employee's pages offer in each state (issue 24, smaller items):
the delete page says whether and until when snapshots keep the volume, a
deleted volume offers nothing but Undo, the finished creation leads to the
password, and the rarely needed maintenance is explained and asks twice."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone, translation

from backup.core import times
from backup.operations.models import Operation
from support.snapshot_outputs import answer_dashboard, hours_ago

pytestmark = pytest.mark.django_db(transaction=True)

IF_PROTECTED = "If your volume has protected snapshots"


def test_the_delete_page_gives_the_date_protection_ends(recorded, make_volume):
    volume = make_volume()
    newest = hours_ago(2)
    answer_dashboard(recorded, volume, hours_ago(48), newest)
    page = Client(REMOTE_USER=volume.account).get("/volume/delete/").content.decode()
    with translation.override("en"), timezone.override("UTC"):
        when = times.absolute_time(newest + timedelta(days=14))
    assert f"is destroyed on {when}, when the protection of its newest snapshot ends" in page
    assert IF_PROTECTED not in page
    assert recorded.calls() == []  # read as stored, no privileged call


def test_the_delete_page_says_deletion_is_immediate_without_protected_snapshots(
    recorded, make_volume
):
    btrfs = make_volume()
    answer_dashboard(recorded, btrfs, hours_ago(30 * 24))  # long unprotected
    page = Client(REMOTE_USER=btrfs.account).get("/volume/delete/").content.decode()
    assert "Your volume has no protected snapshots: it is destroyed at once." in page
    ext4 = make_volume(filesystem="ext4")
    page = Client(REMOTE_USER=ext4.account).get("/volume/delete/").content.decode()
    assert "it is destroyed at once" in page
    assert IF_PROTECTED not in page


def test_the_delete_page_hedges_only_while_the_snapshots_are_not_listed(recorded, make_volume):
    volume = make_volume()
    page = Client(REMOTE_USER=volume.account).get("/volume/delete/").content.decode()
    assert IF_PROTECTED in page
    assert 'data-testid="immediate"' not in page
    assert 'data-testid="deferred"' not in page


def test_a_deleted_volume_offers_only_undo(recorded, make_volume):
    volume = make_volume(suspended_at=timezone.now(), destroy_after=timezone.now() + timedelta(1))
    answer_dashboard(recorded, volume)  # suspended: not mounted
    page = Client(REMOTE_USER=volume.account).get("/").content.decode()
    assert "Undo the deletion" in page
    for offer in ("Check now</button>", "Mount my volume", 'id="connect"', "Connect your computer"):
        assert offer not in page, offer


def test_a_live_unmounted_volume_still_offers_mount_and_check(recorded, make_volume):
    volume = make_volume()
    answer_dashboard(recorded, volume)
    page = Client(REMOTE_USER=volume.account).get("/").content.decode()
    assert "Mount my volume" in page
    assert "Check now</button>" in page


def test_the_finished_creation_leads_to_the_password(make_volume):
    volume = make_volume()
    created = Operation.objects.create(
        kind=Operation.Kind.CREATE,
        owner=volume.owner,
        owner_name=volume.account,
        actor=volume.owner,
        actor_name=volume.account,
        state=Operation.State.SUCCEEDED,
        message="Your 1 GiB backup volume is ready.",
    )
    page = Client(REMOTE_USER=volume.account).get(f"/operations/{created.pk}/").content.decode()
    assert 'data-testid="next-password"' in page
    assert 'action="/password/"' in page
    assert "Get my backup password" in page


def test_maintenance_is_explained_and_needs_a_second_press(recorded, make_volume):
    volume = make_volume()
    answer_dashboard(recorded, volume)
    page = Client(REMOTE_USER=volume.account).get("/").content.decode()
    maintenance = page[page.index('<details data-testid="maintenance">') :].split("</details>")[0]
    assert "<summary>Maintenance (rarely needed)</summary>" in maintenance
    assert 'data-testid="defragment-help"' in maintenance
    assert "Defragment now" in maintenance
    assert 'data-testid="scrub-help"' in maintenance
    assert "Check my volume now" in maintenance
    assert 'action="/volume/defragment/"' in maintenance
    assert 'action="/volume/scrub/"' in maintenance
