"""Alert channels and space alerts (backup.alerts): the portal posting to a real
HTTP receiver on the loopback, email beside it, a failing channel that stops
nothing, the channel form's refusals, near-quota and pool thresholds said
once and re-armed after a drop, the admin page's pool warnings, and the
demo's console output."""

import json
import re
import subprocess
import time
from pathlib import Path

import pytest
from django.core import mail
from django.template.loader import render_to_string
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from backup.alerts import checks, delivery, services, space
from backup.alerts.models import AlertPreference, Channel, PendingAlert, PoolAlert, QuotaAlert
from backup.operations import records
from backup.operations.models import Operation
from backup.settings import dev
from backup.staff.pool import Pool
from backup.stats import collect
from backup.volumes import requests as volume_services
from support.http_receiver import Receiver, closed_port

pytestmark = pytest.mark.django_db

GIB = 1024**3


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    """These tests post to a receiver on the loopback, which an administrator
    must allow (test_alert_channels_outbound.py: refused by default)."""
    settings.ALERT_CHANNELS_ALLOWED_NETWORKS = ["127.0.0.0/8"]


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


# --- Sending ----------------------------------------------------------------


def test_an_alert_goes_by_email_and_to_a_json_webhook(person, receiver):
    Channel.objects.create(user=person, url=f"json://127.0.0.1:{receiver.port}/hook")
    sent = services.send_test(person)
    assert sent.failed == []
    assert sent.reached[0] == "email"
    assert f"127.0.0.1:{receiver.port}/hook" in sent.reached[1]
    (message,) = mail.outbox
    assert message.to == [person.email]
    (post,) = receiver.posts
    path, content_type, body = post
    assert (path, content_type) == ("/hook", "application/json")
    payload = json.loads(body)
    assert payload["title"] == message.subject == "Backup portal: test alert"
    assert payload["message"] == message.body.strip()
    assert "your alerts reach you here" in payload["message"]
    channel = Channel.objects.get(user=person)
    assert channel.last_sent_at is not None
    assert channel.last_failed_at is None


def test_a_failing_channel_is_recorded_and_does_not_stop_email_or_the_others(person, receiver):
    Channel.objects.create(user=person, url=f"json://127.0.0.1:{closed_port()}/dead")
    Channel.objects.create(user=person, url=f"json://127.0.0.1:{receiver.port}/alive")
    sent = services.send_test(person)
    assert sent.delivered
    assert len(sent.failed) == 1
    assert "/dead" in sent.failed[0][0]
    assert len(mail.outbox) == 1
    assert [path for path, _type, _body in receiver.posts] == ["/alive"]
    dead = Channel.objects.get(url__endswith="/dead")
    assert dead.last_failed_at is not None
    assert dead.last_error
    assert dead.last_sent_at is None


def test_a_secret_in_a_channel_url_is_not_logged(person, caplog):
    url = f"json://user:hunter2secret@127.0.0.1:{closed_port()}/hook"
    Channel.objects.create(user=person, url=url)
    with caplog.at_level("INFO", logger="backup"):
        services.send_test(person)
    assert "hunter2secret" not in caplog.text
    assert "json://user:****@127.0.0.1" in caplog.text


def test_email_off_leaves_only_the_channels(person, receiver):
    Channel.objects.create(user=person, url=f"json://127.0.0.1:{receiver.port}/hook")
    AlertPreference.objects.create(user=person, email=False)
    assert services.send_test(person).reached != []
    assert mail.outbox == []
    assert len(receiver.posts) == 1


def test_channels_are_not_used_unless_the_server_allows_them(person, receiver, settings):
    settings.ALERT_CHANNELS_ALLOWED = False
    Channel.objects.create(user=person, url=f"json://127.0.0.1:{receiver.port}/hook")
    AlertPreference.objects.create(user=person, email=False)
    # Email comes back on: a switched-off server feature must not silence alerts.
    assert services.send_test(person).reached == ["email"]
    assert receiver.posts == []


def test_the_admins_get_one_email_and_their_own_channels(admin, receiver, make_person):
    other = make_person("admin", admin=True, email=True)
    Channel.objects.create(user=admin, url=f"json://127.0.0.1:{receiver.port}/admin")
    space.check_pool({"size_bytes": 100, "allocated_bytes": 95, "used_bytes": 10, "free_bytes": 5})
    (message,) = mail.outbox
    assert sorted(message.to) == sorted([other.email, admin.email])
    assert "95% of the pool is allocated" in message.body
    (post,) = receiver.posts
    assert "95% of the pool is allocated" in json.loads(post[2])["message"]


# --- The channels page and its refusals -------------------------------------


@pytest.fixture
def signed_in(person):
    return Client(REMOTE_USER=person.username)


def test_changes_need_the_csrf_token(person):
    client = Client(REMOTE_USER=person.username, enforce_csrf_checks=True)
    response = client.post(reverse("alerts:add"), {"url": "ntfys://ntfy.example.com/erin"})
    assert response.status_code == 403
    assert not Channel.objects.exists()


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("mailto://user:pass@smtp.example.com", "not to “mailto” addresses"),
        ("file:///etc/passwd", "not to “file” addresses"),
        ("windows://", "not to “windows” addresses"),
        ("https://hooks.example.com/x", "accepted only as the webhook address"),
        ("gotify://host-without-token", "could not be understood"),
        ("json://hooks.example.com/x?method=DELETE", "Options in the address"),
        ("json://hooks.example.com/x?+X-Token=1", "Options in the address"),
        ("form://hooks.example.com/x?:field=1", "Options in the address"),
        ("json://169.254.169.254/latest", "inside the server"),
        ("jsons://10.0.0.1/x", "inside the server"),
        ("json://[::ffff:192.168.1.1]/x", "inside the server"),
        ("json://", "could not be understood"),
        ("json://example.com/a b", "spaces or control characters"),
        ("json://exämple.com/a", "only ASCII characters"),
        ("json://example.com/\u212a", "only ASCII characters"),
        ("json://example.com/" + "a" * 500, "longer than 500 characters"),
    ],
)
def test_the_form_refuses_what_is_not_an_allowed_push_address(signed_in, person, url, why):
    response = signed_in.post(reverse("alerts:add"), {"url": url})
    assert response.status_code == 400
    assert why in response.content.decode()
    assert not Channel.objects.exists()


def test_the_page_adds_shows_redacted_and_removes_a_channel(signed_in, person):
    url = "gotifys://gotify.example.com/AbCdEfGhIjKlMn"
    response = signed_in.post(reverse("alerts:add"), {"url": url}, follow=True)
    assert "now also go to that address" in response.content.decode()
    channel = Channel.objects.get(user=person)
    page = signed_in.get(reverse("alerts:channels")).content.decode()
    assert "AbCdEfGhIjKlMn" not in page
    assert "gotifys://gotify.example.com/A...n" in page
    assert signed_in.post(reverse("alerts:add"), {"url": url}).status_code == 400
    signed_in.post(reverse("alerts:remove", args=[channel.pk]))
    assert not Channel.objects.exists()


def test_email_can_be_turned_off_only_while_another_channel_exists(signed_in, person):
    response = signed_in.post(reverse("alerts:email"), {})
    assert response.status_code == 400
    assert "must go somewhere" in response.content.decode()
    assert services.email_on(person)
    channel = Channel.objects.create(user=person, url="ntfys://ntfy.example.com/erin")
    signed_in.post(reverse("alerts:email"), {})
    assert not services.email_on(person)
    # Removing the last channel turns email back on.
    signed_in.post(reverse("alerts:remove", args=[channel.pk]))
    assert services.email_on(person)


def test_another_persons_channel_cannot_be_removed(signed_in, make_person):
    other = make_person()
    channel = Channel.objects.create(user=other, url="ntfys://ntfy.example.com/frank")
    response = signed_in.post(reverse("alerts:remove", args=[channel.pk]), follow=True)
    assert "nothing was changed" in response.content.decode()
    assert Channel.objects.filter(pk=channel.pk).exists()


def test_channel_changes_need_post(signed_in):
    assert signed_in.get(reverse("alerts:add")).status_code == 405
    assert signed_in.get(reverse("alerts:test")).status_code == 405


def test_the_test_alert_is_limited_to_one_a_minute(signed_in, person):
    signed_in.post(reverse("alerts:test"))
    response = signed_in.post(reverse("alerts:test"), follow=True)
    assert "less than a minute ago" in response.content.decode()
    assert len(mail.outbox) == 1


def test_the_server_can_refuse_channels_altogether(signed_in, settings):
    settings.ALERT_CHANNELS_ALLOWED = False
    signed_in.post(reverse("alerts:add"), {"url": "ntfys://ntfy.example.com/erin"})
    assert not Channel.objects.exists()
    assert "email only" in signed_in.get(reverse("alerts:channels")).content.decode()


# --- Near-quota thresholds --------------------------------------------------


@pytest.fixture
def volume(person, make_volume):
    return make_volume(person, size_gib=4)


def fill(volume, percent):
    """update_df_stats' figures for the volume at ``percent`` full."""
    return {volume.account: (100 * GIB, percent * GIB)}


def test_near_quota_alerts_once_per_threshold_and_rearm_after_a_drop(volume):
    assert space.check_volumes(fill(volume, 79)) == []
    assert space.check_volumes(fill(volume, 81)) == [(volume.account, 80)]
    assert space.check_volumes(fill(volume, 85)) == []  # still past 80: said already
    assert space.check_volumes(fill(volume, 96)) == [(volume.account, 95)]  # 90 skipped: one alert
    assert space.check_volumes(fill(volume, 97)) == []
    assert space.check_volumes(fill(volume, 92)) == []  # below 95: re-armed, not said again
    assert QuotaAlert.objects.get(volume=volume).threshold == 90
    assert space.check_volumes(fill(volume, 95)) == [(volume.account, 95)]
    assert space.check_volumes(fill(volume, 50)) == []
    assert not QuotaAlert.objects.exists()
    assert space.check_volumes(fill(volume, 80)) == [(volume.account, 80)]
    subjects = [message.subject for message in mail.outbox]
    assert subjects == [
        "Backup alert: your backup volume is 81% full",
        "Backup alert: your backup volume is 96% full",
        "Backup alert: your backup volume is 95% full",
        "Backup alert: your backup volume is 80% full",
    ]
    used, size = space._size(81 * GIB), space._size(100 * GIB)
    assert f"{used} of {size} used" in mail.outbox[0].body


def test_near_quota_thresholds_are_a_setting(volume, settings):
    settings.NEAR_QUOTA_PERCENTS = [50]
    assert space.check_volumes(fill(volume, 60)) == [(volume.account, 50)]
    assert space.check_volumes(fill(volume, 99)) == []


def test_a_near_quota_alert_nobody_received_is_kept_and_tried_again(volume, monkeypatch):
    """Kept once (not said again by every run while mail is down) and sent by
    retry_pending (test_alert_retries.py: the same against a real SMTP server)."""

    def refuse(self, fail_silently=False):
        raise ConnectionRefusedError("SMTP server down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    assert space.check_volumes(fill(volume, 90)) == [(volume.account, 90)]
    assert space.check_volumes(fill(volume, 90)) == []
    (pending,) = PendingAlert.objects.all()
    assert "SMTP server down" in pending.last_error
    monkeypatch.undo()
    delivery.retry_pending(now=timezone.now() + delivery.RETRY_FIRST)
    assert [message.subject for message in mail.outbox] == [
        "Backup alert: your backup volume is 90% full"
    ]


def test_an_unmounted_volume_is_neither_alerted_nor_rearmed(volume):
    space.check_volumes(fill(volume, 90))
    assert space.check_volumes({}) == []
    assert QuotaAlert.objects.get(volume=volume).threshold == 90


# --- Pool thresholds ----------------------------------------------------------


def pool(allocated, used, size=100):
    return {"size_bytes": size, "allocated_bytes": allocated, "used_bytes": used,
            "free_bytes": size - allocated}  # fmt: skip


def test_pool_thresholds_alert_the_admins_once_and_rearm_after_a_drop(admin, settings):
    settings.POOL_WARN_ALLOCATED_PERCENT = 90
    settings.POOL_WARN_USED_PERCENT = 80
    assert space.check_pool(pool(89, 10)) == []
    assert [w.measure for w in space.check_pool(pool(92, 10))] == ["allocated"]
    assert space.check_pool(pool(95, 10)) == []
    assert [w.measure for w in space.check_pool(pool(95, 85))] == ["used"]
    assert space.check_pool(pool(80, 85)) == []  # allocated dropped: re-armed
    assert set(PoolAlert.objects.values_list("measure", flat=True)) == {"used"}
    assert [w.measure for w in space.check_pool(pool(91, 85))] == ["allocated"]
    assert [message.subject for message in mail.outbox] == [
        "Backup pool alert: 92% allocated",
        "Backup pool alert: 85% used",
        "Backup pool alert: 91% allocated",
    ]


def test_the_collector_runs_the_space_alerts(volume, admin):
    report = collect.Report(usage=fill(volume, 91), pool=pool(95, 10))
    space.after_collection(report)
    assert report.problems == []
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [admin.email, volume.owner.email]
    )


# --- The admin page's warning -----------------------------------------------


def render_warnings(**figures):
    values = {"backend": "lvm", "name": "vg", "size_bytes": 100 * GIB, "allocated_bytes": 0,
              "used_bytes": 0, "free_bytes": 100 * GIB, "volume_count": 1} | figures  # fmt: skip
    return render_to_string("alerts/_pool_warnings.html", {"pool": Pool(**values)})


def test_the_admin_page_warns_past_each_pool_threshold(settings):
    settings.DEFAULT_DISK_SIZE = 4
    assert "pool-warnings" not in render_warnings(allocated_bytes=50 * GIB, used_bytes=10 * GIB)
    page = render_warnings(allocated_bytes=92 * GIB, used_bytes=85 * GIB, free_bytes=8 * GIB)
    assert "92% of the pool is allocated to volumes (warning at 90%)" in page
    assert "85% of the pool is used by data (warning at 80%)" in page
    assert "can't be created" not in page
    page = render_warnings(allocated_bytes=99 * GIB, free_bytes=GIB // 2)
    assert "Only 0 GiB is free: a new volume (4 GiB) can't be created." in page


def test_the_admin_page_counts_the_refusals_of_the_last_week(person):
    records.record_refusal(
        owner=person,
        actor=person,
        kind=Operation.Kind.CREATE,
        message="no space",
        detail="refused",
        parameters={"refused": records.REFUSED_POOL_FULL},
    )
    page = render_warnings()
    assert "1 request to create or grow a volume was refused in the last 7 days" in page
    assert 'href="/staff/audit/?state=failed"' in page


# --- The demo -----------------------------------------------------------------


def test_the_demo_prints_the_alerts_it_sends(person, receiver, capsys):
    assert dev.EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend"
    Channel.objects.create(user=person, url=f"json://127.0.0.1:{receiver.port}/hook")
    with override_settings(
        EMAIL_BACKEND=dev.EMAIL_BACKEND,
        ALERT_CHANNELS_ALLOWED=dev.ALERT_CHANNELS_ALLOWED,
        ALERT_CHANNELS_PRINT=dev.ALERT_CHANNELS_PRINT,
    ):
        services.send_test(person)
    out = capsys.readouterr().out
    assert f"To: {person.email}" in out
    assert "Subject: Backup portal: test alert" in out
    assert f"Alert for {person.username} via json://127.0.0.1:{receiver.port}/hook" in out
    assert len(receiver.posts) == 1


def test_the_demo_runs_the_alert_jobs():
    """The near-quota and pool alerts follow update_df_stats; stale-backup
    alerts need send_backup_alerts, which the demo must run too."""
    runner = (Path(__file__).resolve().parent.parent / "bin" / "demo_runner.py").read_text()
    assert "update_df_stats" in runner
    assert "send_backup_alerts" in runner


# --- With a real volume -------------------------------------------------------


@pytest.mark.root
@pytest.mark.django_db(transaction=True)
def test_update_df_stats_alerts_the_owner_of_a_filling_volume_once(
    portal, make_employee, settings, tmp_path
):
    """Real usage (statvfs of a mounted loop-file volume), read by the
    collector and handed to the near-quota check."""
    settings.RRD_DIRECTORY = tmp_path / "rrd"
    settings.NEAR_QUOTA_PERCENTS = [20]
    owner = make_employee(email="owner@corp.test")
    operation = volume_services.request_create(owner, owner)
    operation.refresh_from_db()
    assert operation.state == Operation.State.SUCCEEDED, operation.detail
    collect_and_alert(0)
    assert mail.outbox == []  # a new volume is nearly empty
    mount_point = Path(portal.settings["DIRECTORIES_ROOT"]) / owner.username
    subprocess.run(["fallocate", "-l", "400M", str(mount_point / "filler")], check=True)
    subprocess.run(["sync", "-f", str(mount_point / "filler")], check=True)
    collect_and_alert(60)
    (message,) = mail.outbox
    assert message.to == ["owner@corp.test"]
    assert message.subject.startswith("Backup alert: your backup volume is")
    collect_and_alert(120)
    assert len(mail.outbox) == 1


def collect_and_alert(seconds_later):
    """What update_df_stats does (each run a minute apart: an RRD takes one
    update per second)."""
    report = collect.collect_space(now=time.time() + seconds_later)
    space.after_collection(report)
    assert report.problems == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NEAR_QUOTA_PERCENTS", [80, 120]),
        ("NEAR_QUOTA_PERCENTS", "80"),
        ("POOL_WARN_ALLOCATED_PERCENT", 0),
        ("POOL_WARN_USED_PERCENT", True),
    ],
)
def test_threshold_settings_are_checked_at_start(settings, name, value):
    setattr(settings, name, value)
    errors = checks.alert_settings(None)
    assert [error.msg.split(":")[0] for error in errors] == [name]


def test_the_default_thresholds_pass_the_check():
    assert checks.alert_settings(None) == []


@pytest.mark.root
@pytest.mark.django_db(transaction=True)
def test_the_pages_show_a_pool_that_cant_take_more(portal, make_employee, settings, tmp_path):
    """The admin page warns past the thresholds and the dashboard stops
    offering Add space, both from the real pool's figures (the dashboard's
    as the stats job recorded them: it asks no wrapper for the pool)."""
    settings.RRD_DIRECTORY = tmp_path / "rrd"
    owner = make_employee()
    operation = volume_services.request_create(owner, owner)
    operation.refresh_from_db()
    assert operation.state == Operation.State.SUCCEEDED, operation.detail
    admin = make_employee("adm", is_staff=True)
    settings.POOL_WARN_ALLOCATED_PERCENT = 1
    page = Client(REMOTE_USER=admin.username).get(reverse("staff:overview")).content.decode()
    assert 'data-testid="pool-warnings"' in page
    assert "of the pool is allocated to volumes (warning at 1%)" in page
    settings.POOL_WARN_ALLOCATED_PERCENT = 100
    page = Client(REMOTE_USER=admin.username).get(reverse("staff:overview")).content.decode()
    assert 'data-testid="pool-warnings"' not in page

    dashboard = Client(REMOTE_USER=owner.username)
    offered = dashboard.get(reverse("dashboard:home")).content.decode()
    assert re.search(r"<button [^>]*>Add space</button>", offered)
    assert not re.search(r"<button [^>]*disabled>Add space</button>", offered)

    portal.write_local_settings(LOOPFILE_POOL_SIZE_GIB=1)
    try:
        collect_and_alert(0)  # update_df_stats records the now full pool
        page = dashboard.get(reverse("dashboard:home")).content.decode()
    finally:
        portal.write_local_settings()
    assert "does not have enough free space to grow your volume" in page
    assert re.search(r"<button [^>]*disabled>Add space</button>", page)


def test_every_page_leads_to_where_alerts_go(signed_in, person):
    # The menu of any page (here the operations list, which needs no volume)
    # links to the alert channels: otherwise a person finds them only in the
    # test email.
    page = signed_in.get(reverse("operations:history")).content.decode()
    assert f'href="{reverse("alerts:channels")}"' in page
