"""Stale-backup alerts (send_backup_alerts): who gets mail and when, one
email per person listing all their stale computers, never twice within 24
hours, and the admins' summary. Scans are stored as fetch_backups.py reports
them; the clock is moved by passing `now` (Django's locmem email backend)."""

import datetime
import io

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from backup.alerts.delivery import retry_pending
from backup.alerts.models import PendingAlert
from backup.discovery import alerts, scans, thresholds
from backup.discovery.models import AlertSent, BackupScan
from backup.volumes.models import Volume
from support.backup_reports import wrapper_report

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
NOW = datetime.datetime(2026, 3, 10, 8, 30, 4, tzinfo=UTC)
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


def wire(when):
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def source(machine, last_backup, fmt="time_machine", state="complete", path=None):
    return {
        "machine": machine,
        "format": fmt,
        "path": path or f"{machine}.sparsebundle",
        "last_backup": wire(last_backup) if last_backup else None,
        "backups": 3,
        "state": state,
        "size_bytes": None,
    }


@pytest.fixture
def volume_of(make_person, make_volume):
    """make(prefix, email=None, age=30 days, **fields) -> the record of a
    1 GiB ext4 volume created ``age`` before NOW, of a person whose name is
    prefix and random hex (fields for the user; address <name>@corp.test
    unless email says otherwise)."""

    def make(prefix, email=None, age=30 * DAY, **fields):
        owner = make_person(prefix, email=True if email is None else email, **fields)
        volume = make_volume(owner, filesystem="ext4")
        Volume.objects.filter(pk=volume.pk).update(created_at=NOW - age)
        volume.refresh_from_db()
        return volume

    return make


def scan(volume, *sources, unrecognised=(), at=NOW - HOUR):
    return scans.store(
        volume,
        wrapper_report(
            {
                "user": volume.account,
                "scanned_at": wire(at),
                "truncated": False,
                "sources": list(sources),
                "unrecognised": list(unrecognised),
            }
        ),
    )


def mails_to(address):
    return [message for message in mail.outbox if address in message.to]


def test_one_email_per_person_listing_all_their_stale_computers(volume_of, admin):
    alice = volume_of("alice")
    scan(
        alice,
        source("Ann\u2019s MacBook", NOW - 9 * DAY),
        source("office-pc", NOW - 20 * DAY, fmt="windows_file_history", path="FileHistory/a/pc"),
        source("fresh-laptop", NOW - 2 * HOUR, fmt="restic", path="restic"),
    )
    bob = volume_of("bob")
    scan(bob, source("bob-mac", NOW - 3 * DAY))
    carol = volume_of("carol")
    scan(carol, source(None, NOW - 8 * DAY, fmt="borg", path="borg-repo"))

    run = alerts.send_alerts(now=NOW)

    assert sorted(run.emailed) == sorted([alice.account, carol.account])
    [to_alice] = mails_to(alice.owner.email)
    assert to_alice.to == [alice.owner.email]
    assert "Ann\u2019s MacBook" in to_alice.body
    assert "last backup 1 week ago, March 1, 2026, 8:30 a.m. UTC" in to_alice.body
    assert "office-pc (Windows File History): last backup 2 weeks ago" in to_alice.body
    assert "fresh-laptop" not in to_alice.body
    assert to_alice.subject == (
        "Backup alert: 2 of your computers have not backed up for over 7 days"
    )
    assert "http://127.0.0.1:8000/#your-backups" in to_alice.body
    [to_carol] = mails_to(carol.owner.email)
    assert to_carol.subject == "Backup alert: Borg backup in “borg-repo” last backed up 1 week ago"
    assert mails_to(bob.owner.email) == []
    # Two people and one summary for the admins.
    assert len(mail.outbox) == 3


def test_nobody_is_alerted_twice_within_24_hours(volume_of, admin):
    alice = volume_of("alice")
    scan(alice, source("mac", NOW - 9 * DAY))

    assert alerts.send_alerts(now=NOW).emailed == [alice.account]
    assert len(mails_to(alice.owner.email)) == 1
    # The computer is still stale, and the scan still fresh, a day later.
    scan(alice, source("mac", NOW - 9 * DAY), at=NOW + 23 * HOUR)
    for later in (NOW + HOUR, NOW + 23 * HOUR + 59 * 60 * datetime.timedelta(seconds=1)):
        run = alerts.send_alerts(now=later)
        assert run.emailed == []
        assert run.not_due == [alice.account]
        assert not run.summary_sent
    assert len(mails_to(alice.owner.email)) == 1
    assert len(mails_to(admin.email)) == 1

    # The daily timer may fire a few seconds earlier than the day before.
    next_day = NOW + DAY - datetime.timedelta(seconds=3)
    assert alerts.send_alerts(now=next_day).emailed == [alice.account]
    assert len(mails_to(alice.owner.email)) == 2
    assert len(mails_to(admin.email)) == 2


def test_stale_means_older_than_the_owners_threshold(volume_of, admin):
    patient, default = volume_of("patient"), volume_of("default")
    thresholds.set_stale_after_days(patient.owner, 30)
    for volume in (patient, default):
        scan(volume, source("mac", NOW - 10 * DAY))
    assert alerts.send_alerts(now=NOW).emailed == [default.account]
    [to_default] = mails_to(default.owner.email)
    assert "for more than 7 days" in to_default.body


def test_what_counts_as_stale_whatever_the_state(volume_of, admin):
    volume = volume_of("alice")
    scan(
        volume,
        # Interrupted long ago: its last completed backup is old.
        source("interrupted", NOW - 12 * DAY, fmt="rdiff_backup", state="in_progress"),
        # Verification failed yesterday: failed, but not stale.
        source("failing", NOW - DAY, state="failed"),
        # A first backup still running has no date yet.
        source("first", None, fmt="restic", state="in_progress", path="restic"),
    )
    alerts.send_alerts(now=NOW)
    [message] = mails_to(volume.owner.email)
    assert "interrupted (rdiff-backup): last backup 1 week ago" in message.body
    assert "one was started since but has not finished" in message.body
    assert "failing" not in message.body
    assert "first" not in message.body


def test_no_alert_from_a_scan_too_old_to_say(volume_of, admin):
    volume = volume_of("alice")
    scan(volume, source("mac", NOW - 20 * DAY), at=NOW - 3 * DAY)
    run = alerts.send_alerts(now=NOW)
    assert run.emailed == []
    assert mails_to(volume.owner.email) == []
    [summary] = mails_to(admin.email)
    assert "not scanned in the last 48 hours" in summary.body
    assert f"{volume.account}: last scanned March 7, 2026, 8:30 a.m. UTC" in summary.body


def test_admins_get_one_summary_of_stale_and_never_used_volumes(volume_of, admin, settings):
    settings.ALERT_ADMIN_EMAILS = ["ops@corp.test", "lead@corp.test"]
    settings.NEVER_USED_AFTER_DAYS = 14
    alice, dora = volume_of("alice"), volume_of("dora")
    empty, newcomer = volume_of("empty", age=20 * DAY), volume_of("newcomer", age=2 * DAY)
    copier = volume_of("copier", age=40 * DAY)
    scan(alice, source("mac", NOW - 9 * DAY))
    scan(dora, source("pc", NOW - 30 * DAY, fmt="windows_backup", path="pc"))
    scan(empty)
    scan(newcomer)
    # Files copied by hand are not "never used", though no backup is recognised.
    scan(copier, unrecognised=[{"path": "Photos", "modified": None}])

    alerts.send_alerts(now=NOW)

    summaries = mails_to("ops@corp.test")
    assert len(summaries) == 1
    [summary] = summaries
    assert summary.to == ["ops@corp.test", "lead@corp.test"]
    assert mails_to(admin.email) == []
    assert summary.subject == "Backup summary: 2 stale computers, 1 volume never used"
    assert f"  - {alice.account}: mac (Time Machine), last backup 1 week ago" in summary.body
    assert f"  - {dora.account}: pc (Windows Backup), last backup 1 month ago" in summary.body
    never_used = summary.body.split("Volumes with nothing on them 14 days")[1]
    assert f"  - {empty.account}: 1 GiB, created Feb. 18, 2026" in never_used
    assert newcomer.account not in summary.body
    assert copier.account not in summary.body
    assert "http://127.0.0.1:8000/staff/?backups=stale" in summary.body


def test_people_without_an_address_are_named_to_the_admins(volume_of, admin, settings):
    settings.ALERT_EMAIL_DOMAIN = ""
    noaddress = volume_of("noaddress", email="")
    scan(noaddress, source("mac", NOW - 9 * DAY))
    run = alerts.send_alerts(now=NOW)
    assert run.emailed == []
    assert run.no_address == [noaddress.account]
    [summary] = mail.outbox
    assert summary.to == [admin.email]
    assert "Not warned, for want of an email address" in summary.body
    assert f"  - {noaddress.account}" in summary.body


def test_people_who_left_are_not_emailed_but_their_volumes_are_listed(volume_of, admin):
    leaver = volume_of("leaver", is_active=False)
    scan(leaver, source("old-mac", NOW - 9 * DAY))
    run = alerts.send_alerts(now=NOW)
    assert run.emailed == []
    assert mails_to(leaver.owner.email) == []
    [summary] = mails_to(admin.email)
    assert f"  - {leaver.account}: old-mac (Time Machine), last backup 1 week ago" in summary.body


def test_the_domain_gives_an_address_to_people_without_one(volume_of, admin, settings):
    settings.ALERT_EMAIL_DOMAIN = "example.org"
    frank = volume_of("frank", email="")
    scan(frank, source("mac", NOW - 9 * DAY))
    alerts.send_alerts(now=NOW)
    assert len(mails_to(f"{frank.account}@example.org")) == 1


def test_nothing_to_report_sends_nothing(volume_of, admin):
    scan(volume_of("alice"), source("mac", NOW - HOUR))
    run = alerts.send_alerts(now=NOW)
    assert (run.emailed, run.summary_sent, mail.outbox) == ([], False, [])


def test_a_failed_send_is_kept_for_retry_not_sent_twice(volume_of, admin, monkeypatch):
    alice = volume_of("alice")
    scan(alice, source("mac", NOW - 9 * DAY))

    def refuse(self, fail_silently=False):
        raise ConnectionRefusedError("SMTP server down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    run = alerts.send_alerts(now=NOW)
    assert run.emailed == []
    assert [recipient for recipient, _ in run.failed] == [f"user:{alice.account}", "admins"]
    # Kept by the delivery path and tried again there, so this job does not
    # send it a second time (it would arrive twice once the server is back).
    assert PendingAlert.objects.filter(delivered_at=None).count() == 2

    monkeypatch.undo()
    assert alerts.send_alerts(now=NOW + HOUR).emailed == []
    retried = retry_pending(now=timezone.now() + 2 * HOUR)
    assert len(retried.delivered) == 2
    assert len(mail.outbox) == 2


def test_dry_run_sends_and_records_nothing(volume_of, admin):
    alice = volume_of("alice")
    scan(alice, source("mac", NOW - 9 * DAY))
    run = alerts.send_alerts(now=NOW, dry_run=True)
    assert (run.emailed, run.summary_sent) == ([alice.account], True)
    assert mail.outbox == []
    assert not AlertSent.objects.exclude(sent_at=None).exists()


def command(*args, **options):
    out, err = io.StringIO(), io.StringIO()
    call_command("send_backup_alerts", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_the_command_mails_from_the_stored_scans(volume_of, admin):
    volume = volume_of("alice")
    now = timezone.now()
    scan(volume, source("mac", now - 9 * DAY), at=now - HOUR)
    assert command() == ("", "")  # quiet when all went well: cron mails any output
    assert len(mails_to(volume.owner.email)) == 1
    out, _ = command(verbosity=2)
    assert f"already alerted today: {volume.account}" in out
    assert len(mails_to(volume.owner.email)) == 1
    out, _ = command("--dry-run")
    assert "would email: nobody" in out


def test_the_command_fails_when_mail_could_not_be_sent(volume_of, admin, monkeypatch):
    volume = volume_of("alice")
    now = timezone.now()
    scan(volume, source("mac", now - 9 * DAY), at=now - HOUR)

    def refuse(self, fail_silently=False):
        raise ConnectionRefusedError("SMTP server down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 alert"):
        call_command("send_backup_alerts", stderr=err)
    assert f"not sent to user:{volume.account}: SMTP server down" in err.getvalue()


def test_deleting_a_volume_deletes_its_scan(volume_of):
    volume = volume_of("alice")
    scan(volume, source("mac", NOW - DAY))
    volume.delete()
    assert not BackupScan.objects.exists()


# Stalled backups and dates that are only repository changes


def test_a_backup_in_progress_for_over_a_day_has_stalled_and_alerts(volume_of, admin, settings):
    settings.IN_PROGRESS_STALLED_AFTER_HOURS = 24
    broken, running = volume_of("broken"), volume_of("running")
    first_scan = NOW - 30 * HOUR
    # A half-copied rdiff-backup repository, in progress since the first scan;
    # a first Time Machine backup (temporary name) that never finishes.
    stuck = source("linux", NOW - 2 * DAY, fmt="rdiff_backup", state="in_progress", path="rdiff")
    first = source("new-mac", None, state="in_progress", path="new-mac.tmp.sparsebundle")
    scan(broken, stuck, first, at=first_scan)
    scan(broken, stuck, first)  # an hour ago: still in progress, for 29 hours now
    # Started two hours ago: in progress, not stalled.
    scan(running, source("mac", NOW - DAY, state="in_progress"))

    stored = BackupScan.objects.get(volume=broken)
    assert stored.oldest_in_progress == first_scan
    assert {item["in_progress_since"] for item in stored.sources} == {wire(first_scan)}
    alerts.send_alerts(NOW)

    [message] = mails_to(broken.owner.email)
    assert "linux (rdiff-backup): last backup 2 days ago" in message.body
    assert "new-mac (Time Machine): no backup completed yet" in message.body
    assert message.body.count("(stalled)") == 2
    # Each computer links to the page that deletes its backups.
    assert (
        "Delete its backups: http://127.0.0.1:8000/backups/delete/"
        "?format=rdiff_backup&path=rdiff" in message.body
    )
    assert "/backups/delete/?format=time_machine&path=new-mac.tmp.sparsebundle" in message.body
    assert mails_to(running.owner.email) == []
    [summary] = mails_to(admin.email)
    assert f"{broken.account}: new-mac (Time Machine), no backup completed; stalled" in summary.body


def test_a_repository_change_is_never_called_a_backup_in_the_email(volume_of, admin):
    volume = volume_of("borgfan")
    borg = source("server", NOW - 9 * DAY, fmt="borg", path="borg")
    borg["evidence"] = "repository_change"
    scan(volume, borg)
    alerts.send_alerts(NOW)
    [message] = mails_to(volume.owner.email)
    assert "server (Borg): its repository last changed 1 week ago" in message.body
    assert "last backup" not in message.body


def test_writes_of_unknown_completion_alert_when_old_and_copies_never(volume_of, admin):
    alice = volume_of("alice")
    old_image = source(None, NOW - 9 * DAY, fmt="macrium", path="Macrium")
    old_image["evidence"] = "last_written"
    fresh_bundle = source("air", NOW - 2 * HOUR)
    fresh_bundle["evidence"] = "last_written"
    old_copy = source(None, NOW - 40 * DAY, fmt="copy", path="Mirror")
    old_copy["evidence"] = "copy"
    scan(alice, old_image, fresh_bundle, old_copy)

    assert alerts.send_alerts(now=NOW).emailed == [alice.account]
    [to_alice] = mails_to(alice.owner.email)
    assert (
        "Macrium Reflect backup in “Macrium” (Macrium Reflect): its backup files were last "
        "written 1 week ago, March 1, 2026, 8:30 a.m. UTC (whether that backup completed is "
        "unknown)"
    ) in to_alice.body
    assert "air" not in to_alice.body
    assert "Mirror" not in to_alice.body
    [summary] = mails_to(admin.email)
    assert (
        "last written 1 week ago (March 1, 2026, 8:30 a.m. UTC), completion unknown" in summary.body
    )
