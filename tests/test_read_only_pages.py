"""Pages read and never write: an operation whose worker died is shown as
interrupted by every page that shows it (the dashboard, its own page and
status, the history, the admin pages) without a write, and the periodic job
(update_df_stats) ends it, as the worker and the next action do. And the
dashboard's queries are counted: a fixed number for a signed-in employee
with a volume whose state is cached, however much it has to show."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backup.discovery import scans
from backup.operations.models import Operation
from support.backup_reports import wrapper_report
from support.queries import writes
from support.snapshot_outputs import GIB, answer_dashboard, hours_ago

pytestmark = pytest.mark.django_db

# The cached dashboard: session, user, volume, the active operation, the
# finished version (the cache key of the volume's state), mass change,
# snapshot space, snapshots, backup scan, staleness preference, quota, recent
# operations, check-ins. None of them grows with what the page lists.
DASHBOARD_QUERIES = 13


@pytest.fixture
def volume(recorded, make_volume, tmp_path):
    """A btrfs volume, mounted (a directory stands in for it), with
    snapshots; its state answered by the recorded lvdisplay.py."""
    volume = make_volume()
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    answer_dashboard(recorded, volume, hours_ago(26), hours_ago(2), mounted_at=mounted)
    return volume


def signed_in(user, url="/"):
    """A client whose session exists already: signing in writes (the
    session, last_login), as it should; the pages after it must not."""
    client = Client(REMOTE_USER=user.username)
    assert client.get(url).status_code == 200
    return client


def dead_operation(owner, kind=Operation.Kind.DEFRAGMENT):
    """Running, on a worker of another host that has been silent for an hour."""
    silent_since = timezone.now() - timedelta(hours=1)
    return Operation.objects.create(
        kind=kind,
        state=Operation.State.RUNNING,
        owner=owner,
        owner_name=owner.username,
        actor=owner,
        actor_name=owner.username,
        started_at=silent_since,
        heartbeat_at=silent_since,
        worker="another-host:4242:1",
    )


def test_pages_showing_a_dead_operation_write_nothing_and_show_it_interrupted(
    volume, django_user_model
):
    owner = volume.owner
    client = signed_in(owner)
    admin = signed_in(
        django_user_model.objects.create(username=f"{owner.username}adm", is_staff=True),
        "/staff/operations/",
    )
    dead = dead_operation(owner)

    with CaptureQueriesContext(connection) as captured:
        dashboard = client.get("/").content.decode()
        detail = client.get(f"/operations/{dead.pk}/").content.decode()
        status = client.get(f"/operations/{dead.pk}/status/").json()
        history = client.get("/history/").content.decode()
        person = admin.get(f"/staff/users/{owner.username}/").content.decode()
        in_progress = admin.get("/staff/operations/").content.decode()
    assert writes(captured) == []

    for page in (dashboard, detail, history, person):
        assert "“Defragment” was interrupted" in page, page
    # The dashboard follows no progress and offers the actions again.
    assert "data-operation-status" not in dashboard
    assert "data-operation-status" not in detail
    assert (status["active"], status["state"]) == (False, "failed")
    assert "was interrupted" in status["message"]
    assert "Interrupted" in in_progress  # and the admin may still end it by hand
    dead.refresh_from_db()
    assert (dead.state, dead.finished_at) == (Operation.State.RUNNING, None)


def test_the_periodic_job_ends_a_dead_operation_with_its_audit_record(
    volume, recorded, settings, tmp_path
):
    settings.RRD_DIRECTORY = tmp_path / "rrd"
    recorded.answer("lvdisplay.py", {"backend": "loopfile", "volumes": []})
    recorded.answer(
        "vgdisplay.py",
        {
            "backend": "loopfile",
            "name": "pool",
            "size_bytes": 100 * GIB,
            "allocated_bytes": GIB,
            "used_bytes": GIB,
            "free_bytes": 99 * GIB,
            "volume_count": 1,
        },
    )
    dead = dead_operation(volume.owner)
    call_command("update_df_stats")
    dead.refresh_from_db()
    assert dead.state == Operation.State.FAILED
    assert dead.finished_at is not None
    assert "was interrupted" in dead.message
    assert "worker gone or silent (worker another-host:4242:1" in dead.detail
    # Defragmenting registers no undo: nothing more is queued.
    assert not Operation.objects.filter(kind=Operation.Kind.CLEANUP).exists()


def test_the_periodic_job_ends_dead_operations_even_when_collection_fails(
    volume, recorded, settings, tmp_path
):
    """The reaper runs first: a wrapper refusing the inventory stops the
    figures, not the ending of a dead operation."""
    settings.RRD_DIRECTORY = tmp_path / "rrd"
    recorded.answer("lvdisplay.py", refused="no inventory here")
    dead = dead_operation(volume.owner)
    with pytest.raises(Exception, match="nothing recorded"):
        call_command("update_df_stats")
    dead.refresh_from_db()
    assert dead.state == Operation.State.FAILED


def test_a_start_ends_the_dead_operation_first(volume):
    """A state-changing POST ends the dead operation holding the volume and
    then starts its own (as before: begin, start and run_now all do)."""
    client = signed_in(volume.owner)
    dead = dead_operation(volume.owner)
    response = client.post("/volume/defragment/")
    dead.refresh_from_db()
    assert dead.state == Operation.State.FAILED
    started = Operation.objects.filter(owner=volume.owner).exclude(pk=dead.pk).get()
    assert response["Location"] == f"/operations/{started.pk}/"


def with_history(volume, operations):
    """More to list: a stored scan with computers, and finished operations."""
    wire = hours_ago(1).strftime("%Y-%m-%dT%H:%M:%SZ")
    scans.store(
        volume,
        wrapper_report(
            {
                "user": volume.account,
                "scanned_at": wire,
                "truncated": False,
                "sources": [
                    {
                        "machine": f"laptop{number}",
                        "format": "restic",
                        "path": f"laptop{number}",
                        "last_backup": wire,
                        "backups": 3,
                        "state": "complete",
                        "size_bytes": None,
                    }
                    for number in range(3)
                ],
                "unrecognised": [],
            }
        ),
    )
    now = timezone.now()
    Operation.objects.bulk_create(
        Operation(
            kind=Operation.Kind.MOUNT,
            state=Operation.State.SUCCEEDED,
            owner=volume.owner,
            owner_name=volume.account,
            actor=volume.owner,
            actor_name=volume.account,
            started_at=now,
            finished_at=now,
            message="Mounted.",
        )
        for _ in range(operations)
    )


@pytest.mark.parametrize("operations", [0, 7])
def test_the_cached_dashboard_makes_a_fixed_number_of_queries(
    volume, recorded, django_assert_num_queries, operations
):
    with_history(volume, operations)
    client = signed_in(volume.owner)  # also caches the volume's state
    recorded.forget_calls()
    with django_assert_num_queries(DASHBOARD_QUERIES):
        response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "laptop2" in page  # the real state, not "status unavailable"
    assert "GiB usable" in page
    assert recorded.calls() == []  # the state came from the cache
