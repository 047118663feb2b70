"""Alerts that reached nobody are tried again until they do (issue 20): a
real SMTP server on the loopback, down and then up; the attempts counted
and their errors kept; bounded; one copy, not one per run; every alert kind
through the one delivery path; and update_df_stats exits non-zero while an
alert has been undelivered for more than an hour."""

import datetime

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from backup.alerts import delivery, space
from backup.alerts.models import PendingAlert, PoolAlert, QuotaAlert
from backup.discovery import alerts as stale_alerts
from backup.discovery import scans
from backup.stats import collect
from backup.volumes.models import Volume
from support.backup_reports import wrapper_report
from support.http_receiver import closed_port
from support.people import signed_in
from support.smtp_server import SMTPServer
from support.waiting import next_second

pytestmark = pytest.mark.django_db

GIB = 1024**3
MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def smtp(settings):
    """Django's real SMTP backend pointed at a loopback port nobody listens
    on yet; ``smtp.start()`` brings a server up there."""

    class Mail:
        port = closed_port()
        server = None

        def start(self):
            self.server = SMTPServer(self.port)
            return self.server

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", Mail.port
    settings.EMAIL_TIMEOUT = 5
    state = Mail()
    yield state
    if state.server:
        state.server.close()


@pytest.fixture
def owner(make_person, make_volume):
    """A person (generated name, with an e-mail address) with the record of
    a 4 GiB volume."""
    return make_volume(make_person("owner", email=True), size_gib=4).owner


def nearly_full(owner):
    return {owner.username: (100 * GIB, 91 * GIB)}


def test_a_near_quota_alert_is_retried_until_the_mail_server_is_back(smtp, owner):
    start = timezone.now()
    assert space.check_volumes(nearly_full(owner), now=start) == [(owner.username, 90)]
    (pending,) = PendingAlert.objects.all()
    assert pending.attempts == 1
    assert "Connection refused" in pending.last_error or "refused" in pending.last_error
    assert pending.delivered_at is None

    # Later runs neither send a second copy nor try before the wait is over.
    assert space.check_volumes(nearly_full(owner), now=start + 5 * MINUTE) == []
    assert PendingAlert.objects.count() == 1
    assert delivery.retry_pending(now=start + MINUTE).failed == []
    run = delivery.retry_pending(now=start + 6 * MINUTE)
    assert [alert.pk for alert in run.failed] == [pending.pk]
    pending.refresh_from_db()
    assert pending.attempts == 2
    # The wait doubles: not again before 10 minutes after that attempt.
    assert pending.next_attempt_at == start + 16 * MINUTE

    server = smtp.start()
    assert delivery.retry_pending(now=start + 12 * MINUTE).delivered == []
    run = delivery.retry_pending(now=start + 16 * MINUTE)
    assert [alert.pk for alert in run.delivered] == [pending.pk]
    ((_sender, recipients, message),) = server.messages
    assert recipients == [owner.email]
    assert message["Subject"] == "Backup alert: your backup volume is 91% full"
    pending.refresh_from_db()
    assert (pending.attempts, pending.delivered_at) == (3, start + 16 * MINUTE)
    # Delivered once: nothing more to try, no second copy.
    assert delivery.retry_pending(now=start + 2 * 60 * MINUTE).delivered == []
    assert len(server.messages) == 1
    assert QuotaAlert.objects.get().threshold == 90
    # Kept for the record a while, then gone.
    delivery.retry_pending(now=start + delivery.KEEP_FOR)
    assert PendingAlert.objects.exists()
    delivery.retry_pending(now=start + delivery.KEEP_FOR + 17 * MINUTE)
    assert not PendingAlert.objects.exists()


def test_retries_are_bounded(smtp, owner):
    start = timezone.now()
    space.check_volumes(nearly_full(owner), now=start)
    when, attempts = start, 1
    while True:
        when += delivery.RETRY_LONGEST
        run = delivery.retry_pending(now=when)
        if run.given_up:
            break
        attempts += len(run.failed)
        assert when - start <= delivery.RETRY_FOR + delivery.RETRY_LONGEST
    pending = PendingAlert.objects.get()
    assert pending.gave_up_at is not None
    assert pending.attempts == attempts + 1 <= 80
    smtp.start()
    assert delivery.retry_pending(now=when + delivery.RETRY_LONGEST).delivered == []


def test_the_pool_alert_is_kept_and_reaches_the_admins_later(smtp, admin):
    pool = {"size_bytes": 100, "allocated_bytes": 95, "used_bytes": 10, "free_bytes": 5}
    start = timezone.now()
    assert [warning.measure for warning in space.check_pool(pool, now=start)] == ["allocated"]
    assert PoolAlert.objects.count() == 1  # claimed: not announced again every run
    assert space.check_pool(pool, now=start + 5 * MINUTE) == []
    server = smtp.start()
    delivery.retry_pending(now=start + 6 * MINUTE)
    ((_sender, recipients, message),) = server.messages
    assert recipients == [admin.email]
    assert "95% allocated" in str(message["Subject"])


def test_a_stale_backup_alert_is_kept_and_sent_later(smtp, owner, admin):
    now = timezone.now()
    volume = Volume.objects.get(owner=owner)
    scans.store(
        volume,
        wrapper_report(
            {
                "user": volume.account,
                "scanned_at": (now - 60 * MINUTE).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "truncated": False,
                "sources": [
                    {
                        "machine": "laptop",
                        "format": "time_machine",
                        "path": "laptop.sparsebundle",
                        "last_backup": (now - datetime.timedelta(days=9)).strftime(
                            "%Y-%m-%dT%H:%M:%SZ"
                        ),
                        "backups": 3,
                        "state": "complete",
                        "size_bytes": None,
                    }
                ],
                "unrecognised": [],
            }
        ),
    )
    stale_alerts.send_alerts(now=now)
    assert PendingAlert.objects.count() == 2  # the owner's and the admins' summary
    server = smtp.start()
    delivery.retry_pending(now=now + 6 * MINUTE)
    assert sorted(recipients[0] for _sender, recipients, _message in server.messages) == [
        admin.email,
        owner.email,
    ]


def test_a_mass_change_alert_is_kept_and_sent_later(smtp, owner, admin):
    from backup.snapshots import alerts as mass_change_alerts
    from backup.snapshots.models import MassChange, Snapshot

    now = timezone.now()
    snapshot = Snapshot.objects.create(
        volume_id=owner.username,
        name="@GMT-2026.03.02-09.00.00",
        taken_at=now,
        used_bytes=GIB,
        size_bytes=4 * GIB,
    )
    mass_change = MassChange.objects.create(
        snapshot=snapshot,
        restore_point="@GMT-2026.03.02-08.00.00",
        restore_point_taken_at=now - 60 * MINUTE,
        reason="900 MiB changed",
    )
    assert mass_change_alerts.announce(mass_change) == []  # nobody reached now...
    assert PendingAlert.objects.count() == 2  # ...but kept, for the owner and the admins
    # Kept counts as announced: the next snapshot run does not queue it again.
    mass_change.refresh_from_db()
    assert mass_change.emailed_at is not None
    assert mass_change_alerts.announce(mass_change) == []
    assert PendingAlert.objects.count() == 2
    server = smtp.start()
    delivery.retry_pending(now=now + 6 * MINUTE)
    assert sorted(recipients[0] for _sender, recipients, _message in server.messages) == [
        admin.email,
        owner.email,
    ]


def test_a_test_alert_is_not_kept(smtp, owner):
    from backup.alerts import services

    assert not services.send_test(owner).handled
    assert not PendingAlert.objects.exists()


def test_the_job_fails_while_an_alert_is_undelivered_for_over_an_hour(smtp, owner):
    space.check_volumes(nearly_full(owner), now=timezone.now() - 61 * MINUTE)
    PendingAlert.objects.update(
        created_at=timezone.now() - 61 * MINUTE, next_attempt_at=timezone.now()
    )
    report = collect.Report()
    space.retry_undelivered(report)
    assert report.failed
    assert "undelivered for more than 60 minutes" in report.problems[-1]
    assert owner.username in report.problems[-1]
    assert PendingAlert.objects.get().attempts == 2

    smtp.start()
    PendingAlert.objects.update(next_attempt_at=timezone.now())
    report = collect.Report()
    space.retry_undelivered(report)
    assert not report.failed


@pytest.mark.root
@pytest.mark.django_db(transaction=True)
def test_update_df_stats_exits_non_zero_while_an_alert_is_overdue(
    portal, smtp, make_employee, settings, tmp_path
):
    """The whole job as cron runs it: its exit is what cron mails and what
    the systemd unit shows."""
    settings.RRD_DIRECTORY = tmp_path / "rrd"
    person = make_employee(email="overdue@corp.test")
    delivery.notify_person(person, "alerts/email/test", {"channels_url": "https://x.example/"})
    PendingAlert.objects.update(created_at=timezone.now() - 61 * MINUTE)
    with pytest.raises(CommandError, match="undelivered"):
        call_command("update_df_stats")
    server = smtp.start()
    PendingAlert.objects.update(next_attempt_at=timezone.now())
    next_second()  # an RRD takes one update per second
    call_command("update_df_stats")
    assert [recipients for _sender, recipients, _message in server.messages] == [
        ["overdue@corp.test"]
    ]
    assert mail.outbox == []


def test_the_admins_see_undelivered_alerts_in_djangos_admin(smtp, owner, make_person):
    space.check_volumes(nearly_full(owner))
    superuser = make_person("djadmin", superuser=True)
    page = signed_in(superuser).get("/admin/alerts/pendingalert/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "alerts/email/near_quota" in text
    assert "Connection refused" in text


def test_one_run_attempts_a_bounded_number_longest_waiting_first(smtp, owner):
    now = timezone.now()
    PendingAlert.objects.bulk_create(
        PendingAlert(
            user=owner,
            template="alerts/email/test",
            messages={"": [f"alert {number}", "body"]},
            created_at=now,
            last_attempt_at=now,
            next_attempt_at=now - number * MINUTE,
        )
        for number in range(delivery.MAX_ATTEMPTS_PER_RUN + 10)
    )
    run = delivery.retry_pending(now=now)
    assert len(run.failed) == delivery.MAX_ATTEMPTS_PER_RUN
    untried = PendingAlert.objects.filter(attempts=1)
    assert sorted(alert.subject for alert in untried) == [f"alert {n}" for n in range(10)]
