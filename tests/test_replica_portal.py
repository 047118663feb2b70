"""The second server in the portal, on two servers on this machine: a volume
made by the portal, its snapshots pulled by the replica, whose report the
portal's update_df_stats stores; the admin page, the employee's dashboard
and /metrics show it from the database; a volume made to fall behind
raises exactly one alert, a replica that stops reporting the silence alert
once; and with no replica configured nothing of it appears anywhere."""

import datetime

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from backup.core.times import absolute_time
from backup.operations.models import Operation
from backup.privileged.client import Counter
from backup.replica import alerts as replica_alerts
from backup.replica.models import ReplicaAlert, ReplicaCopy, ReplicaReport
from backup.snapshots import services as snapshot_services
from backup.stats import collect
from backup.volumes import requests
from support import replica
from support import snapshots as snap
from support.storage import ok

pytestmark = [pytest.mark.root, pytest.mark.django_db(transaction=True)]
HOUR = datetime.timedelta(hours=1)


def wire(when):
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def two(wrappers):
    with replica.servers(wrappers) as servers:
        yield servers


@pytest.fixture
def configured(portal, settings, tmp_path):
    settings.RRD_DIRECTORY = tmp_path / "rrd"
    settings.ALERT_ADMIN_EMAILS = ["admins@example.com"]
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.REPLICA_ENABLED = True
    settings.REPLICA_INTERVAL_MINUTES = 60
    return settings


@pytest.fixture
def employee(portal, make_employee, django_user_model):
    person = make_employee(email="owner@example.com")
    django_user_model.objects.create(username=f"{person.username}adm", is_staff=True)
    operation = requests.request_create(person, person)
    operation.refresh_from_db()
    try:
        assert operation.state == Operation.State.SUCCEEDED, operation.detail
        yield person
    finally:
        snap.clean_snapshot_volume(portal, person.username)


def take(servers, account, when):
    """The primary's snapshot at when, stored as the hourly run stores it."""
    with snap.clock(servers.primary, wire(when)):
        result = ok(servers.primary, "snapshot-create.py", account)
    assert result["error"] is None, result
    snapshot_services.refresh_listing(account)
    return result["snapshot"]


def pull(servers, when):
    with snap.clock(servers.replica, wire(when)):
        completed, status = servers.pull()
    assert completed.returncode == 0, (completed.stderr, status)
    return status


def page(username, path):
    response = Client(REMOTE_USER=username).get(path)
    assert response.status_code == 200
    return response.content.decode()


def scrape():
    before = Counter.calls
    response = Client(REMOTE_ADDR="127.0.0.1").get("/metrics")
    assert Counter.calls == before, "a scrape ran a wrapper"
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def replica_lines(servers):
    return [line for line in servers.primary.syslog if "replica-status.py" in line]


def test_the_report_reaches_the_pages_and_a_volume_falling_behind_alerts_once(
    two, configured, employee
):
    account = employee.username
    start = datetime.datetime.now(datetime.UTC).replace(minute=0, second=0, microsecond=0)
    start -= 5 * HOUR
    first = take(two, account, start)
    pull(two, start + 10 * datetime.timedelta(minutes=1))
    call_command("update_df_stats")

    stored = ReplicaReport.objects.get()
    assert stored.reachable
    assert stored.pool_size_bytes > stored.pool_free_bytes > 0
    copy = ReplicaCopy.objects.get(account=account)
    assert (copy.newest, copy.newest_taken_at, copy.count) == (first, start, 1)

    admin = page(f"{account}adm", "/staff/")
    assert "Second server" in admin
    assert 'data-testid="replica-pool"' in admin
    assert "No volume is more than 2 h 00 min behind." in admin
    assert (
        f"<td>{account}</td><td>{absolute_time(start)}</td><td>1</td><td>0 h 00 min</td>" in admin
    )
    dashboard = page(account, "/")
    assert f"Copied to the second server: newest copy {absolute_time(start)}." in dashboard
    figures = scrape()
    assert figures[("backup_replica_lag_seconds", (("volume", account),))] == 0
    assert figures[("backup_replica_volumes_behind", ())] == 0
    assert figures[("backup_replica_reachable", ())] == 1
    assert figures[("backup_replica_pool_free_bytes", ())] == stored.pool_free_bytes
    assert 0 <= figures[("backup_replica_report_age_seconds", ())] < 600
    assert mail.outbox == []

    # The primary goes on taking snapshots; the replica does not pull them.
    take(two, account, start + 3 * HOUR)
    for _run in range(3):
        replica_alerts.after_collection(collect.Report())
    (alert,) = mail.outbox
    assert alert.to == ["admins@example.com"]
    assert alert.subject == "Second server: 1 volume behind"
    assert f"{account}: 3.0 hours behind (newest copy {first})" in alert.body
    admin = page(f"{account}adm", "/staff/")
    assert f"{account}: 3 h 00 min behind (newest copy {first})" in admin
    assert "Copying is behind; the admins have been told." in page(account, "/")
    figures = scrape()
    assert figures[("backup_replica_volumes_behind", ())] == 1
    assert figures[("backup_replica_max_lag_seconds", ())] == 3 * 3600

    # The next pull catches up: the alert is re-armed, nothing more is said.
    pull(two, start + 3 * HOUR + 10 * datetime.timedelta(minutes=1))
    replica_alerts.after_collection(collect.Report())
    assert not ReplicaAlert.objects.filter(kind="behind").exists()
    assert ReplicaCopy.objects.get(account=account).count == 2
    assert len(mail.outbox) == 1


def test_a_replica_that_stops_reporting_raises_the_silence_alert_once(two, configured, employee):
    account = employee.username
    start = datetime.datetime.now(datetime.UTC).replace(minute=0, second=0, microsecond=0)
    take(two, account, start - HOUR)
    pull(two, start - HOUR + 10 * datetime.timedelta(minutes=1))
    report = collect.Report()
    replica_alerts.after_collection(report)
    assert report.problems == []
    assert mail.outbox == []

    # Three hours on without a report (twice the hourly interval is two).
    later = datetime.datetime.now(datetime.UTC) + 3 * HOUR
    for _run in range(3):
        replica_alerts.after_collection(collect.Report(), now=later)
    (alert,) = mail.outbox
    assert alert.subject == "Second server: no report from the replica"
    assert "has not reported for 3.0 hours" in alert.body

    # A new report re-arms it.
    pull(two, start + 10 * datetime.timedelta(minutes=1))
    replica_alerts.after_collection(collect.Report())
    assert not ReplicaAlert.objects.exists()
    assert len(mail.outbox) == 1


def test_with_no_replica_configured_nothing_of_it_appears(
    two, portal, settings, employee, tmp_path
):
    settings.RRD_DIRECTORY = tmp_path / "rrd"
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    assert settings.REPLICA_ENABLED is False
    account = employee.username
    take(two, account, datetime.datetime.now(datetime.UTC).replace(microsecond=0) - HOUR)
    before = len(replica_lines(two))
    call_command("update_df_stats")
    assert len(replica_lines(two)) == before  # replica-status.py never ran
    assert not ReplicaReport.objects.exists()
    assert "Second server" not in page(f"{account}adm", "/staff/")
    assert "second server" not in page(account, "/")
    assert not [name for name, _labels in scrape() if name.startswith("backup_replica")]


def test_a_configured_replica_that_never_reported_says_so(portal, configured, employee):
    admin = page(f"{employee.username}adm", "/staff/")
    assert "The second server has not reported yet." in admin
    figures = scrape()
    assert figures[("backup_replica_reachable", ())] == 0
    assert not [name for name, _labels in figures if name == "backup_replica_report_age_seconds"]
