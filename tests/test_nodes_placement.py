"""Where a new volume goes when the portal manages several storage servers,
and that each operation is handed to the queue of the server holding the
volume (issue 22). On the test database; the queue is django-tasks'
database backend, as in production, so the queued row is what a node's
worker would claim."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from backup.core.errors import UserFacingError
from backup.nodes import placement
from backup.nodes.models import Node, NodeReport
from backup.operations.models import Operation
from backup.volumes import requests
from backup.volumes.models import Volume
from support.accounts import unique_name

pytestmark = pytest.mark.django_db
GIB = 1 << 30
DATABASE_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": []}}


def node(name, *, site="", pool_gib=100, reported=True, silent=False):
    made = Node.objects.create(name=name, site=site, samba_address=f"{name}.example.com")
    if reported:
        age = timedelta(hours=1) if silent else timedelta(seconds=5)
        NodeReport.objects.create(
            node=made, reported_at=timezone.now() - age, pool_size_bytes=pool_gib * GIB,
            pool_free_bytes=pool_gib * GIB, volume_count=0,
        )  # fmt: skip
    return made


def person():
    return get_user_model().objects.create(username=unique_name("emp").lower())


def volume_on(where, size_gib):
    owner = person()
    return Volume.objects.create(
        owner=owner, account=owner.username, size_gib=size_gib, filesystem="btrfs", node=where
    )


def test_a_single_server_places_nothing():
    assert placement.place(10) is None


def test_the_node_with_the_most_room_after_promises_is_chosen():
    # b's pool is larger, but its volumes were promised more of it.
    a, b = node("a", pool_gib=100), node("b", pool_gib=150)
    volume_on(b, 80)
    volume_on(a, 10)
    assert placement.place(10) == a  # a: 90 GiB of room, b: 70


def test_the_persons_site_comes_before_room():
    node("big", site="helsinki", pool_gib=1000)
    local = node("local", site="tampere", pool_gib=50)
    assert placement.place(10, site="tampere") == local
    assert placement.place(60, site="tampere").name == "big"  # local has no room


def test_silent_and_unreported_nodes_get_no_volume():
    node("quiet", pool_gib=1000, silent=True)
    node("new", reported=False)
    fine = node("fine", pool_gib=20)
    assert placement.place(10) == fine
    with pytest.raises(placement.NoRoom):
        placement.place(30)


@override_settings(TASKS=DATABASE_QUEUE)
def test_a_create_is_queued_for_the_chosen_node_and_its_volume_stays_there(
    django_capture_on_commit_callbacks,
):
    chosen = node("chosen", pool_gib=100)
    node("other", pool_gib=10)
    owner = person()
    # Queued once the operation's row is committed, as in production.
    with django_capture_on_commit_callbacks(execute=True):
        operation = requests.request_create(owner, owner)
    assert operation.parameters["node"] == "chosen"
    queued = DBTaskResult.objects.get(args_kwargs__args=[operation.pk])
    assert queued.queue_name == chosen.queue_name == "node_chosen"
    # Later operations on the volume go to the same server's queue.
    Operation.objects.filter(pk=operation.pk).update(state=Operation.State.SUCCEEDED)
    Volume.objects.create(
        owner=owner, account=owner.username, size_gib=1, filesystem="btrfs", node=chosen
    )
    with django_capture_on_commit_callbacks(execute=True):
        mount = requests.request_mount(owner, owner)
    assert DBTaskResult.objects.get(args_kwargs__args=[mount.pk]).queue_name == "node_chosen"


@override_settings(TASKS=DATABASE_QUEUE)
def test_no_room_anywhere_is_refused_recorded_and_queues_nothing(
    django_capture_on_commit_callbacks,
):
    small = node("small", pool_gib=2)
    volume_on(small, 2)  # all of it promised
    owner = person()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(UserFacingError):
        requests.request_create(owner, owner)
    assert not DBTaskResult.objects.exists()
    refusal = Operation.objects.get(owner=owner)
    assert refusal.state == Operation.State.FAILED
    assert refusal.parameters["refused"] == "pool_full"
    assert requests.can_create(owner) is not None
