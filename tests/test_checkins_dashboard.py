"""Check-ins on the employee's pages and in the alerts: making an address
(shown once), a new address, removing one, bad input refused with nothing
made, what the dashboard shows beside "Your backups" (escaped logs), the
status rules, and the daily alert (send_backup_alerts)."""

import datetime
import html
import io
import re

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from backup.checkins import alerts, services, tokens
from backup.checkins.models import CheckIn, CheckInAlertSent
from support.people import signed_in
from support.snapshot_outputs import answer_dashboard

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)
HOSTILE = '<script>alert("x")</script> & <b>bold</b>'


@pytest.fixture
def person(recorded, make_volume):
    """An employee with a volume whose dashboard answers from recorded outputs."""
    volume = make_volume()
    answer_dashboard(recorded, volume)
    return volume.owner


def make_address(client, name="Work laptop", period="24"):
    return client.post("/checkins/create/", {"name": name, "period_hours": period})


def test_an_address_is_made_and_shown_once(person):
    client = signed_in(person)
    response = make_address(client)
    assert response.status_code == 302
    assert response["Location"] == "/checkins/shown/"
    page = client.get("/checkins/shown/").content.decode()
    url = html.unescape(re.search(r'data-testid="checkin-url">([^<]+)<', page).group(1))
    assert url.startswith("http://testserver/ping/")
    token = url.rsplit("/", 1)[1]
    checkin = CheckIn.objects.get(owner=person)
    assert (checkin.name, checkin.period_hours) == ("Work laptop", 24)
    assert checkin.token_hash == tokens.digest(token)
    # The setup lines carry the same address.
    assert f"ping_url: {url}" in page
    assert "no-store" in client.get("/checkins/shown/")["Cache-Control"]
    again = client.get("/checkins/shown/").content.decode()
    assert token not in again
    assert 'data-testid="checkin-already-shown"' in again
    assert Client().get(f"/ping/{token}").status_code == 200


@pytest.mark.parametrize(
    ("name", "period"),
    [("", "24"), ("x" * 101, "24"), ("bad\nname", "24"), ("ok", "0"), ("ok", "8761"), ("ok", "x")],
)
def test_bad_input_is_refused_and_nothing_made(person, name, period):
    client = signed_in(person)
    response = make_address(client, name, period)
    assert response.status_code == 302
    assert response["Location"] == "/#computers"
    assert not CheckIn.objects.exists()
    page = client.get("/").content.decode()
    assert "The check-in address was not made" in page


def test_at_most_so_many_addresses_per_person(person, monkeypatch):
    monkeypatch.setattr(services, "MAX_PER_PERSON", 2)
    client = signed_in(person)
    make_address(client, "one")
    make_address(client, "two")
    make_address(client, "three")
    assert sorted(CheckIn.objects.values_list("name", flat=True)) == ["one", "two"]


def test_someone_elses_check_in_can_be_neither_removed_nor_renewed(person, django_user_model):
    other = django_user_model.objects.create(username=f"oth{person.username}")
    made = services.create(other, "Theirs", 24)
    client = signed_in(person)
    assert client.post(f"/checkins/{made.checkin.pk}/remove/").status_code == 404
    assert client.post(f"/checkins/{made.checkin.pk}/new-address/").status_code == 404
    assert CheckIn.objects.get(pk=made.checkin.pk).token_hash == tokens.digest(made.token)


def test_removing_revokes_and_a_get_changes_nothing(person):
    made = services.create(person, "Old desktop", 24)
    client = signed_in(person)
    assert client.get(f"/checkins/{made.checkin.pk}/remove/").status_code == 405
    assert CheckIn.objects.filter(pk=made.checkin.pk).exists()
    response = client.post(f"/checkins/{made.checkin.pk}/remove/")
    assert response.status_code == 302
    assert not CheckIn.objects.exists()
    assert Client().get(f"/ping/{made.token}").status_code == 404
    assert "no longer accepts check-ins" in client.get("/").content.decode()


def test_a_new_address_is_shown_once_and_the_old_one_stops(person):
    made = services.create(person, "Laptop", 24)
    client = signed_in(person)
    response = client.post(f"/checkins/{made.checkin.pk}/new-address/")
    assert response["Location"] == "/checkins/shown/"
    page = client.get("/checkins/shown/").content.decode()
    token = re.search(r"/ping/([A-Za-z0-9_-]{32})<", page).group(1)
    assert token != made.token
    assert Client().get(f"/ping/{made.token}").status_code == 404
    assert Client().get(f"/ping/{token}").status_code == 200


def test_the_dashboard_shows_what_each_computer_said_beside_the_scan(person):
    laptop = services.create(person, "Laptop", 24)
    desktop = services.create(person, HOSTILE, 24)
    Client().get(f"/ping/{laptop.token}")
    Client().get(f"/ping/{laptop.token}/start")
    Client().post(f"/ping/{desktop.token}/2", data=HOSTILE.encode(), content_type="text/plain")
    page = signed_in(person).get("/").content.decode()
    assert page.index('id="your-backups"') < page.index('id="computers"')
    assert "Computers that check in" in page
    assert "What each computer itself reported" in page
    rows = re.findall(r'<tr data-testid="checkin">.*?</tr>', page, flags=re.DOTALL)
    assert len(rows) == 2
    assert 'data-status="running"' in rows[1]  # "Laptop" sorts after the "<script>" name
    assert 'data-testid="checkin-running"' in rows[1]
    assert 'data-status="failed"' in rows[0]
    assert "exit status 2" in rows[0]
    assert HOSTILE not in page
    assert html.escape(HOSTILE) in page
    assert 'data-testid="checkin-failure-log"' in page


def test_no_check_ins_yet(person):
    page = signed_in(person).get("/").content.decode()
    assert 'data-testid="no-checkins"' in page
    assert 'data-testid="checkin-form"' in page


def test_the_setup_help_has_every_tool(person):
    page = signed_in(person).get("/checkins/setup/").content.decode()
    for tool in (
        "borgmatic",
        "borgmatic-1-7",
        "restic-linux",
        "restic-windows",
        "restic-task",
        "post-job",
        "duplicati",
        "time-machine",
        "launch-agent",
    ):
        assert f'data-testid="setup-{tool}"' in page, tool
    assert "http://testserver/ping/YOUR-CHECK-IN-TOKEN" in page
    assert (
        "curl -fsS -m 10 --retry 5 -o /dev/null http://testserver/ping/YOUR-CHECK-IN-TOKEN" in page
    )
    assert "tmutil latestbackup" in page


def test_the_connect_and_restore_pages_point_to_the_setup_help(person):
    client = signed_in(person)
    for path in ("/", "/restore/"):
        assert 'href="/checkins/setup/"' in client.get(path).content.decode(), path


# --- the status rules -------------------------------------------------------

NOW = datetime.datetime(2026, 3, 10, 8, 0, tzinfo=datetime.UTC)


def at(**times):
    fields = {"period_hours": 24, "created_at": NOW - 100 * HOUR, **times}
    return CheckIn(**fields)


@pytest.mark.parametrize(
    ("checkin", "status"),
    [
        (at(created_at=NOW - HOUR), services.WAITING),
        (at(created_at=NOW - 25 * HOUR), services.STALE),
        (at(last_success_at=NOW - 23 * HOUR), services.OK),
        (at(last_success_at=NOW - 25 * HOUR), services.STALE),
        (at(last_success_at=NOW - 2 * HOUR, last_failure_at=NOW - HOUR), services.FAILED),
        (at(last_success_at=NOW - HOUR, last_failure_at=NOW - 2 * HOUR), services.OK),
        (at(last_success_at=NOW - HOUR, started_at=NOW - HOUR / 2), services.RUNNING),
        (at(last_success_at=NOW - HOUR, started_at=NOW - 25 * HOUR), services.STALLED),
        # A run started after the failure: running again, not failed.
        (
            at(
                last_success_at=NOW - 5 * HOUR,
                last_failure_at=NOW - 2 * HOUR,
                started_at=NOW - HOUR,
            ),
            services.RUNNING,
        ),
        (at(last_failure_at=NOW - HOUR), services.FAILED),
    ],
)
def test_status_rules(checkin, status):
    assert services.status_of(checkin, NOW) == status


# --- alerts -------------------------------------------------------------------


def failing(person):
    made = services.create(person, "Laptop", 24)
    Client().post(f"/ping/{made.token}/fail", data=b"disk full", content_type="text/plain")
    return made


def test_a_failed_check_in_alerts_once_a_day(person):
    failing(person)
    now = timezone.now()
    run = alerts.send_alerts(now)
    assert run.alerted == [person.username]
    (message,) = mail.outbox
    assert message.to == [person.email]
    assert "Laptop" in message.subject
    assert "the last backup failed" in message.body
    assert alerts.send_alerts(now + 23 * HOUR).not_due == [person.username]
    assert len(mail.outbox) == 1
    assert alerts.send_alerts(now + 25 * HOUR).alerted == [person.username]
    assert len(mail.outbox) == 2


def test_stale_and_stalled_alert_and_ok_does_not(person, django_user_model):
    stale = services.create(person, "Stale one", 24)
    CheckIn.objects.filter(pk=stale.checkin.pk).update(created_at=timezone.now() - 30 * HOUR)
    stalled = services.create(person, "Stuck one", 24)
    Client().get(f"/ping/{stalled.token}/start")
    CheckIn.objects.filter(pk=stalled.checkin.pk).update(started_at=timezone.now() - 30 * HOUR)
    fine = django_user_model.objects.create(username=f"ok{person.username}", email="ok@corp.test")
    ok = services.create(fine, "Fine", 24)
    Client().get(f"/ping/{ok.token}")
    run = alerts.send_alerts()
    assert run.alerted == [person.username]
    (message,) = mail.outbox
    assert "2 computers" in message.subject
    assert "Stale one" in message.body
    assert "has not finished" in message.body


def test_a_send_that_reached_nobody_is_tried_again(person, monkeypatch):
    failing(person)

    def refuse(self, fail_silently=False):
        raise ConnectionRefusedError("SMTP server down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    run = alerts.send_alerts()
    assert run.failed == [(f"user:{person.username}", "SMTP server down")]
    assert CheckInAlertSent.objects.get(user=person).sent_at is None


def test_the_daily_job_sends_check_in_alerts_too(person):
    failing(person)
    out = io.StringIO()
    call_command("send_backup_alerts", "--dry-run", stdout=out)
    assert f"check-ins: would alert: {person.username}" in out.getvalue()
    assert not mail.outbox
    call_command("send_backup_alerts", stdout=io.StringIO())
    assert [message.to for message in mail.outbox] == [[person.email]]


def test_people_who_left_are_not_alerted(person):
    failing(person)
    person.is_active = False
    person.save()
    assert alerts.send_alerts().alerted == []
    assert not mail.outbox
