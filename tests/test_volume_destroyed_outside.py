"""A deleted volume always ends, portal side (issue 19): when an
administrator destroys a suspended volume with root's tool
(tools/destroy-protected.py) instead of waiting for its date, the next
scheduled run (destroy_due_volumes) notices the volume is gone and completes the
portal's records: the backup account through the usual deluser path, the
volume's row, an audit record saying an administrator's tool destroyed it;
and the pages stop saying "destroyed on <date>". A recorded destruction
date is never moved."""

import datetime
import json
import pwd

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from backup.operations import records
from backup.operations.models import Operation
from backup.privileged import commands
from backup.volumes import requests as volume_requests
from backup.volumes.models import Volume
from support.snapshots import run_tool_at_terminal
from support.storage import mount_point


def account_exists(name):
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.mark.root
@pytest.mark.django_db(transaction=True)
def test_a_volume_destroyed_with_roots_tool_is_completed_by_the_next_run(portal, make_employee):
    owner = make_employee(email="gone@corp.test")
    name = owner.username
    created = volume_requests.request_create(owner, owner)
    created.refresh_from_db()
    assert created.state == Operation.State.SUCCEEDED, created.detail
    commands.take_snapshot(name)  # protected for 14 days: deletion suspends
    try:
        _destroy_with_roots_tool_then_run(portal, owner)
    finally:
        if account_exists(name) and commands.volume(name) is not None:  # failed half-way
            portal.run("suspend.py", name)
            run_tool_at_terminal(portal, name, name)


def _destroy_with_roots_tool_then_run(portal, owner):
    name = owner.username
    volume_requests.request_delete(owner, owner, name)
    volume = Volume.objects.get(account=name)
    assert volume.pending_destruction
    destroy_after = volume.destroy_after
    page = Client(REMOTE_USER=name).get(reverse("dashboard:home")).content.decode()
    assert "will be destroyed on" in page

    # The administrator, as root at the server's terminal.
    code, out, err = run_tool_at_terminal(portal, name, name)
    assert code == 0, err
    assert json.loads(out)["user"] == name
    if commands.volume(name) is not None:
        # The tool of this branch destroys the snapshots only; the volume
        # goes with the wrapper the portal itself would use.
        result = portal.run("lvremove.py", name)
        assert result.returncode == 0, result.stderr
    assert commands.volume(name) is None
    assert account_exists(name)  # the tool leaves the account: the portal's part

    call_command("destroy_due_volumes")

    assert not Volume.objects.filter(account=name).exists()
    assert not account_exists(name)
    assert not mount_point(portal, name).exists()
    operation = Operation.objects.filter(owner_name=name, kind=Operation.Kind.DESTROY).get()
    assert operation.state == Operation.State.SUCCEEDED, operation.detail
    assert operation.actor_name == records.SERVER_ACTOR
    assert "destroyed by an administrator with the server's own tool" in operation.message
    assert "tools/destroy-protected.py" in operation.detail
    assert operation.parameters["destroy_after"] == destroy_after.isoformat()
    page = Client(REMOTE_USER=name).get(reverse("dashboard:home")).content.decode()
    assert "will be destroyed on" not in page
    assert "destroyed on" not in page
    # A second run finds nothing more to do.
    call_command("destroy_due_volumes")
    assert Operation.objects.filter(owner_name=name, kind=Operation.Kind.DESTROY).count() == 1


@pytest.mark.root
@pytest.mark.django_db(transaction=True)
def test_a_suspended_volume_that_still_exists_is_left_to_its_date(portal, make_employee):
    owner = make_employee()
    name = owner.username
    volume_requests.request_create(owner, owner)
    commands.take_snapshot(name)
    try:
        volume_requests.request_delete(owner, owner, name)
        destroy_after = Volume.objects.get(account=name).destroy_after
        call_command("destroy_due_volumes")
        volume = Volume.objects.get(account=name)
        assert volume.pending_destruction
        assert volume.destroy_after == destroy_after
        assert not Operation.objects.filter(owner_name=name, kind=Operation.Kind.DESTROY).exists()
        assert commands.volume(name) is not None
    finally:
        # Its snapshot is protected for 14 days: only root's tool (on a
        # suspended volume) lets make_employee's cleanup remove the volume.
        portal.run("suspend.py", name)
        run_tool_at_terminal(portal, name, name)


@pytest.mark.django_db
def test_a_recorded_destruction_date_is_never_moved(make_person):
    owner = make_person("datekeeper")
    when = timezone.now().replace(microsecond=0) + datetime.timedelta(days=3)
    Volume.objects.create(
        owner=owner,
        account=owner.username,
        size_gib=1,
        filesystem="btrfs",
        suspended_at=timezone.now(),
        destroy_after=when,
    )
    volume = Volume.objects.get(account=owner.username)
    volume.destroy_after = when + datetime.timedelta(days=14)
    with pytest.raises(ValueError, match="never moved"):
        volume.save()
    assert Volume.objects.get(account=owner.username).destroy_after == when
    # Undo clears it; a new deletion may then record another.
    volume = Volume.objects.get(account=owner.username)
    volume.suspended_at = volume.destroy_after = None
    volume.save()
    volume.suspended_at, volume.destroy_after = timezone.now(), when + datetime.timedelta(days=1)
    volume.save()


@pytest.mark.django_db(transaction=True)
def test_deleting_an_already_deleted_volume_keeps_its_date(recorded, make_volume):
    when = timezone.now().replace(microsecond=0) + datetime.timedelta(days=3)
    volume = make_volume(suspended_at=timezone.now(), destroy_after=when)
    operation = volume_requests.start_operation(
        volume.owner, volume.owner, Operation.Kind.DELETE, {"size_gib": 1}
    )
    operation.refresh_from_db()
    assert "already deleted" in operation.message
    assert Volume.objects.get(pk=volume.pk).destroy_after == when
    assert recorded.calls() == []
