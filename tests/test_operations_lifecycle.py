"""The operation lifecycle without storage: queued only once committed,
claimed once, a heartbeat while it runs, dead workers noticed and their
operations ended (and undone where their kind says how), admins ending a
stuck one, and racing requests getting the ordinary sentence."""

import subprocess
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from backup.core.errors import UserFacingError
from backup.operations import records, registry, runner, services, tasks, workers
from backup.operations.errors import OperationInProgress
from backup.operations.models import Operation

pytestmark = pytest.mark.django_db(transaction=True)

KIND = Operation.Kind.MOUNT


@pytest.fixture
def calls(monkeypatch):
    """Replaces the mount work with one that records the operations it ran."""
    ran = []

    def work(operation):
        ran.append(operation.pk)
        return "probe done"

    monkeypatch.setitem(registry._work, KIND, work)
    return ran


def running(person, *, worker, heartbeat_age, kind=KIND):
    now = timezone.now()
    return Operation.objects.create(
        kind=kind,
        state=Operation.State.RUNNING,
        owner=person,
        owner_name=person.username,
        actor=person,
        actor_name=person.username,
        started_at=now - heartbeat_age,
        heartbeat_at=now - heartbeat_age,
        worker=worker,
    )


def test_an_operation_is_handed_to_the_worker_only_once_committed(person, calls):
    with transaction.atomic():
        operation = services.start(owner=person, actor=person, kind=KIND)
        assert calls == []
    assert calls == [operation.pk]
    operation.refresh_from_db()
    assert operation.state == Operation.State.SUCCEEDED
    assert operation.message == "probe done"


def test_an_operation_rolled_back_with_its_request_never_runs(person, calls):
    def failing_request():
        with transaction.atomic():
            services.start(owner=person, actor=person, kind=KIND)
            raise RuntimeError("the request failed after starting it")

    with pytest.raises(RuntimeError):
        failing_request()
    assert calls == []
    assert not Operation.objects.filter(owner_name=person.username).exists()


def test_an_operation_is_claimed_once(person, calls):
    operation = records.open_operation(owner=person, actor=person, kind=KIND)
    assert runner.execute(operation.pk) is not None
    assert runner.execute(operation.pk) is None
    assert calls == [operation.pk]


def test_an_ended_operation_is_not_run_by_a_late_worker(person, admin, calls):
    operation = records.open_operation(owner=person, actor=person, kind=KIND)
    services.end_stuck(operation.pk, admin)
    assert runner.execute(operation.pk) is None
    assert calls == []
    operation.refresh_from_db()
    assert operation.state == Operation.State.FAILED


def test_a_running_operation_has_a_heartbeat(person, monkeypatch, settings):
    settings.OPERATION_HEARTBEAT_SECONDS = 0.05
    seen = []

    def slow_work(operation):
        for _beat in range(2):
            seen.append(
                Operation.objects.values_list("heartbeat_at", flat=True).get(pk=operation.pk)
            )
            threading.Event().wait(0.3)
        return "done"

    monkeypatch.setitem(registry._work, KIND, slow_work)
    operation = records.open_operation(owner=person, actor=person, kind=KIND)
    runner.execute(operation.pk)
    assert seen[1] > seen[0]
    operation.refresh_from_db()
    assert operation.worker == workers.this_process()


def test_a_silent_worker_is_taken_for_dead_and_its_operation_ended(person, settings):
    settings.OPERATION_STALE_SECONDS = 120
    elsewhere = "another-host:4242:1"
    fresh = running(person, worker=elsewhere, heartbeat_age=timedelta(seconds=30))
    assert services.active_for(person.username) == fresh
    fresh.delete()

    silent = running(person, worker=elsewhere, heartbeat_age=timedelta(minutes=3))
    # Looking only reads: the volume is free again, the record unchanged...
    assert services.active_for(person.username) is None
    silent.refresh_from_db()
    assert silent.state == Operation.State.RUNNING
    # ...until the reaper (worker, periodic job, next start) ends it.
    assert tasks.release_dead() == [silent]
    silent.refresh_from_db()
    assert silent.state == Operation.State.FAILED
    assert "was interrupted" in silent.message
    # Mounting registers no undo: nothing is queued after it.
    assert not Operation.objects.filter(kind=Operation.Kind.CLEANUP).exists()


def test_a_worker_killed_on_this_host_is_recognised_at_once():
    child = subprocess.Popen(["sleep", "60"])
    try:
        pid_worker = f"{workers.this_process().split(':')[0]}:{child.pid}:"
        pid_worker += workers._start_time(child.pid)
        assert not workers.is_gone(pid_worker)
    finally:
        child.kill()
        child.wait()
    assert workers.is_gone(pid_worker)
    assert not workers.is_gone(workers.this_process())
    assert not workers.is_gone("another-host:1:1")


def test_a_dead_operation_with_an_undo_queues_its_cleanup(person, monkeypatch):
    undone = []
    monkeypatch.setitem(registry._undo, KIND, lambda op: undone.append(op.pk) or "undone")
    dead = running(person, worker="another-host:1:1", heartbeat_age=timedelta(hours=1))
    assert tasks.release_dead() == [dead]
    dead.refresh_from_db()
    assert dead.state == Operation.State.FAILED
    cleanup = Operation.objects.get(kind=Operation.Kind.CLEANUP)
    # ImmediateBackend: the cleanup ran once committed.
    assert cleanup.state == Operation.State.SUCCEEDED, cleanup.detail
    assert cleanup.actor_name == records.SERVER_ACTOR
    assert undone == [dead.pk]


def test_a_race_that_hides_the_blocking_operation_gets_the_ordinary_sentence(
    person, calls, monkeypatch
):
    blocking = records.open_operation(owner=person, actor=person, kind=KIND)
    monkeypatch.setattr(records, "active_for", lambda owner_name: None)
    with pytest.raises(OperationInProgress, match="Another operation is in progress"):
        records.open_operation(owner=person, actor=person, kind=KIND)
    assert list(Operation.objects.values_list("pk", flat=True)) == [blocking.pk]


def test_concurrent_requests_make_one_operation_and_no_error(person, monkeypatch):
    release = threading.Event()

    def held(operation):
        release.wait(30)
        return "done"

    monkeypatch.setitem(registry._work, KIND, held)
    outcomes = []

    def request():
        try:
            services.start(owner=person, actor=person, kind=KIND)
            outcomes.append("started")
        except UserFacingError as refusal:
            outcomes.append(refusal.message)
        except Exception as error:  # noqa: BLE001 (what must not happen is recorded)
            outcomes.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    # The one that started runs its operation (ImmediateBackend) until released.
    deadline = timezone.now() + timedelta(seconds=60)
    while len(outcomes) < 7 and timezone.now() < deadline:
        threading.Event().wait(0.05)
    release.set()
    for thread in threads:
        thread.join(60)
    assert outcomes.count("started") == 1, outcomes
    assert all("still in progress" in outcome for outcome in outcomes if outcome != "started")
    assert Operation.objects.filter(owner_name=person.username).count() == 1


# --- Admins ending a stuck operation ---------------------------------------------


def test_an_admin_ends_a_queued_operation_and_it_is_recorded(person, admin):
    stuck = records.open_operation(owner=person, actor=person, kind=KIND)
    client = Client(REMOTE_USER=admin.username)
    listing = client.get("/staff/operations/").content.decode()
    assert f"/staff/operations/{stuck.pk}/end/" in listing

    page = client.post(f"/staff/operations/{stuck.pk}/end/", follow=True).content.decode()
    stuck.refresh_from_db()
    assert stuck.state == Operation.State.FAILED
    assert f"Ended by an administrator ({admin.username})" in stuck.message
    record = Operation.objects.get(kind=Operation.Kind.END)
    assert (record.actor_name, record.owner_name) == (admin.username, person.username)
    assert record.parameters == {"operation": stuck.pk, "kind": KIND, "state": "queued"}
    assert "Ended “Mount volume”" in page
    assert "No operation is in progress" in page


def test_an_operation_whose_worker_reports_is_not_ended(person, admin):
    alive = running(person, worker=workers.this_process(), heartbeat_age=timedelta(seconds=5))
    response = Client(REMOTE_USER=admin.username).post(
        f"/staff/operations/{alive.pk}/end/", follow=True
    )
    assert "is still running" in response.content.decode()
    alive.refresh_from_db()
    assert alive.state == Operation.State.RUNNING
    assert not Operation.objects.filter(kind=Operation.Kind.END).exists()


def test_employees_cannot_end_operations(person):
    stuck = records.open_operation(owner=person, actor=person, kind=KIND)
    response = Client(REMOTE_USER=person.username).post(f"/staff/operations/{stuck.pk}/end/")
    assert response.status_code == 403
    stuck.refresh_from_db()
    assert stuck.state == Operation.State.QUEUED


def test_the_page_following_an_operation_shows_its_worker_died(person):
    dead = running(person, worker="another-host:1:1", heartbeat_age=timedelta(hours=1))
    status = Client(REMOTE_USER=person.username).get(f"/operations/{dead.pk}/status/").json()
    assert status["active"] is False
    assert status["state"] == "failed"
    assert "was interrupted" in status["message"]


def test_a_cleanup_whose_worker_died_is_queued_again(person, monkeypatch):
    undone = []
    monkeypatch.setitem(registry._undo, KIND, lambda op: undone.append(op.pk) or "undone")
    original = running(person, worker="another-host:1:1", heartbeat_age=timedelta(hours=2))
    original.state = Operation.State.FAILED
    original.save()
    dead_cleanup = running(
        person, worker="another-host:1:1", heartbeat_age=timedelta(hours=1), kind="cleanup"
    )
    dead_cleanup.parameters = {"interrupted": original.pk}
    dead_cleanup.save()

    assert tasks.release_dead() == [dead_cleanup]
    again = Operation.objects.get(
        kind=Operation.Kind.CLEANUP, parameters__interrupted=dead_cleanup.pk
    )
    assert again.state == Operation.State.SUCCEEDED, again.detail
    assert undone == [original.pk]
