"""The dashboard's "Your backups" and the owner's actions on it (Check now,
the stale threshold), read from stored scans through Django's test client:
each badge, the hover time, no backups yet, CSRF, validation, and nobody
seeing another person's backups. No wrappers here: pages must not need
them for this section (tests/test_discovery_scans.py runs the real ones)."""

import datetime
import re

import pytest
from django.test import Client
from django.utils import timezone

from backup.core.times import absolute_time
from backup.discovery import scans, thresholds
from backup.discovery.models import BackupPreference, BackupScan
from backup.operations.models import Operation
from backup.privileged.client import Counter
from backup.volumes.models import Volume
from support.backup_reports import wrapper_report

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
HOUR = datetime.timedelta(hours=1)


def wire(when):
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(autouse=True)
def no_wrappers(settings, tmp_path):
    """No wrapper can run: the page must still render its backups section."""
    settings.WRAPPERS_PATH = tmp_path


@pytest.fixture
def owner_of(django_user_model):
    def make(name):
        user = django_user_model.objects.create(username=name)
        Volume.objects.create(owner=user, account=name, size_gib=1, filesystem="ext4")
        return user

    return make


def store(user, sources=(), unrecognised=(), truncated=False, at=None):
    return scans.store(
        user.backup_volume,
        wrapper_report(
            {
                "user": user.username,
                "scanned_at": wire(at or timezone.now() - HOUR),
                "truncated": truncated,
                "sources": list(sources),
                "unrecognised": list(unrecognised),
            }
        ),
    )


def source(machine, age, fmt="time_machine", state="complete", path=None):
    return {
        "machine": machine,
        "format": fmt,
        "path": path or f"{machine}.sparsebundle",
        "last_backup": wire(timezone.now() - age) if age is not None else None,
        "backups": 4,
        "state": state,
        "size_bytes": None,
    }


def dashboard(user, **client_options):
    response = Client(REMOTE_USER=user.username, **client_options).get("/")
    assert response.status_code == 200
    return response.content.decode()


def rows(page):
    """(computer, software, last backup cell, backups, status) per table row."""
    found = []
    for row in re.findall(r'<tr data-testid="backup-source">(.*?)</tr>', page, re.S):
        cells = [
            re.sub(r"<[^>]+>", " ", cell).split() for cell in re.findall(r"<td.*?</td>", row, re.S)
        ]
        status = re.search(r'data-status="([a-z_]+)"', row).group(1)
        name = re.sub(r"<[^>]+>", "", re.search(r"<td>(.*?)(<br>|</td>)", row, re.S).group(1))
        found.append((name, " ".join(cells[1]), " ".join(cells[2]), status, row))
    return found


def test_each_computer_gets_its_status_badge(owner_of):
    alice = owner_of("alice")
    store(
        alice,
        [
            source("fresh-mac", 3 * DAY),
            source("old-mac", 12 * DAY),
            source("linux-box", 2 * HOUR, fmt="rdiff_backup", state="in_progress", path="rdiff"),
            source("failing-mac", DAY, state="failed"),
            source(None, None, fmt="restic", state="complete", path="restic"),
        ],
    )
    page = dashboard(alice)
    found = {name: (software, last, status) for name, software, last, status, _ in rows(page)}
    assert found == {
        "fresh-mac": ("Time Machine", "3 days ago", "ok"),
        "old-mac": ("Time Machine", "1 week ago", "stale"),
        "linux-box": (
            "rdiff-backup",
            "2 hours ago a backup in progress for 1 hour",
            "in_progress",
        ),
        "failing-mac": ("Time Machine", "1 day ago", "failed"),
        "restic backup in “restic”": ("restic", "none completed yet", "none"),
    }
    labels = re.findall(r'data-status="[a-z_]+">([^<]+)</span>', page)
    # By name; the unnamed one first.
    assert labels == ["No backup yet", "Failed", "OK", "In progress", "Stale"]
    assert "is <strong>stale</strong> when its last backup is more than 7 days" in page


def test_the_exact_utc_time_is_shown_on_hover(owner_of):
    alice = owner_of("alice")
    last = timezone.now().replace(microsecond=0) - 3 * DAY
    store(alice, [source("mac", timezone.now() - last)])
    [(_, _, _, _, row)] = rows(dashboard(alice))
    # The hover text: the exact time in the reader's zone (UTC here), said so.
    expected = f'<time datetime="{wire(last)}" title="{absolute_time(last)}">3 days ago</time>'
    assert expected in row


def test_the_backup_count_is_shown(owner_of):
    alice = owner_of("alice")
    store(alice, [source("mac", DAY)])
    [(_, _, _, _, row)] = rows(dashboard(alice))
    assert '<td class="text-end">4</td>' in row


def test_unrecognised_folders_are_listed_discreetly(owner_of):
    alice = owner_of("alice")
    store(alice, [], unrecognised=[{"path": "Photos", "modified": wire(timezone.now() - DAY)}])
    page = dashboard(alice)
    details = re.search(r'<details[^>]*data-testid="unrecognised">.*?</details>', page, re.S)
    assert "Other folders on your volume (1)" in details.group(0)
    assert "<code>Photos</code>, changed" in details.group(0)
    assert "1 day ago" in details.group(0)


def test_no_backups_yet_says_how_to_start(owner_of):
    alice = owner_of("alice")
    store(alice, [])
    page = dashboard(alice)
    assert "No backups yet." in page
    assert '<a href="#connect-heading">Connect your computer</a>' in page
    assert 'id="connect-heading"' in page  # the instructions the link points at
    assert 'data-testid="backup-source"' not in page


def test_a_volume_never_checked_says_so(owner_of):
    alice = owner_of("alice")
    page = dashboard(alice)
    assert "has not been checked for backups yet" in page
    assert "No backups yet." not in page


def test_a_truncated_or_failed_check_is_explained(owner_of):
    alice = owner_of("alice")
    store(alice, [source("mac", DAY)], truncated=True)
    scans.record_failure(alice.backup_volume, "not mounted")
    page = dashboard(alice)
    assert "The check stopped before reading all of your volume" in page
    assert "The latest check did not succeed; this is what the one before it found." in page
    assert "not mounted" not in page  # the technical reason is for the admins


def test_machine_names_from_the_volume_are_escaped(owner_of):
    alice = owner_of("alice")
    store(alice, [source("<script>alert(1)</script>", DAY, path="x")])
    page = dashboard(alice)
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_nobody_sees_another_persons_backups(owner_of):
    alice, bob = owner_of("alice"), owner_of("bob")
    store(alice, [source("alices-secret-mac", DAY)], [{"path": "alice-folder", "modified": None}])
    store(bob, [source("bobs-pc", DAY, fmt="windows_backup", path="bobs-pc")])
    page = dashboard(bob)
    assert "bobs-pc" in page
    assert "alices-secret-mac" not in page
    assert "alice-folder" not in page


# --- The threshold ---------------------------------------------------------------


def post_threshold(user, value, **client_options):
    client = Client(REMOTE_USER=user.username, **client_options)
    return client.post("/backups/threshold/", {"stale_after_days": value}, follow=True)


def test_the_threshold_changes_what_is_stale(owner_of):
    alice = owner_of("alice")
    store(alice, [source("mac", 10 * DAY)])
    assert [status for *_, status, _ in rows(dashboard(alice))] == ["stale"]

    response = post_threshold(alice, "30")
    assert response.redirect_chain == [("/#your-backups", 302)]
    page = response.content.decode()
    assert "A computer now counts as stale after 30 days without a backup." in page
    assert 'name="stale_after_days" value="30"' in page
    assert [status for *_, status, _ in rows(page)] == ["ok"]
    assert thresholds.stale_after_days(alice) == 30


@pytest.mark.parametrize("value", ["0", "366", "-3", "7.5", "seven", "", "1e3"])
def test_a_threshold_outside_1_to_365_days_is_refused(owner_of, value):
    alice = owner_of("alice")
    thresholds.set_stale_after_days(alice, 12)
    page = post_threshold(alice, value).content.decode()
    assert "Enter a whole number of days from 1 to 365; your setting was not changed." in page
    assert thresholds.stale_after_days(alice) == 12


@pytest.mark.parametrize("value", ["1", "365"])
def test_the_threshold_bounds_are_accepted(owner_of, value):
    alice = owner_of("alice")
    post_threshold(alice, value)
    assert thresholds.stale_after_days(alice) == int(value)


def test_the_threshold_form_needs_the_csrf_token(owner_of):
    alice = owner_of("alice")
    response = post_threshold(alice, "30", enforce_csrf_checks=True)
    assert response.status_code == 403
    assert not BackupPreference.objects.exists()


def test_the_dashboards_forms_carry_the_csrf_token(owner_of):
    alice = owner_of("alice")
    client = Client(REMOTE_USER=alice.username, enforce_csrf_checks=True)
    page = client.get("/").content.decode()
    for action in ("/backups/threshold/", "/backups/check/"):
        form = re.search(rf'<form method="post" action="{action}".*?</form>', page, re.S)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.group(0))
        assert token, action
    response = client.post(
        "/backups/threshold/", {"stale_after_days": "9", "csrfmiddlewaretoken": token.group(1)}
    )
    assert response.status_code == 302
    assert thresholds.stale_after_days(alice) == 9


def test_a_threshold_is_each_persons_own(owner_of):
    alice, bob = owner_of("alice"), owner_of("bob")
    post_threshold(bob, "40")
    assert (thresholds.stale_after_days(alice), thresholds.stale_after_days(bob)) == (7, 40)


# --- Check now (refusals; tests/test_discovery_scans.py scans for real) -----------


def test_check_now_needs_post_and_the_csrf_token(owner_of):
    alice = owner_of("alice")
    before = Counter.calls
    assert Client(REMOTE_USER="alice").get("/backups/check/").status_code == 405
    response = Client(REMOTE_USER="alice", enforce_csrf_checks=True).post("/backups/check/")
    assert response.status_code == 403
    assert Counter.calls == before
    assert not BackupScan.objects.filter(volume__owner=alice).exists()


def test_check_now_waits_for_an_operation_in_progress(owner_of):
    alice = owner_of("alice")
    Operation.objects.create(
        kind=Operation.Kind.ADD_SPACE,
        state=Operation.State.RUNNING,
        owner=alice,
        owner_name="alice",
        actor=alice,
        actor_name="alice",
    )
    client = Client(REMOTE_USER="alice")
    before = Counter.calls
    assert client.post("/backups/check/").status_code == 302
    assert Counter.calls == before
    assert "“Add space” is in progress on your volume." in client.get("/").content.decode()


def test_check_now_without_a_reachable_volume_keeps_the_last_results(owner_of):
    alice = owner_of("alice")
    store(alice, [source("mac", DAY)])
    response = Client(REMOTE_USER="alice").post("/backups/check/", follow=True)
    page = response.content.decode()
    assert "Your volume is not available right now, so it could not be checked." in page
    assert [name for name, *_ in rows(page)] == ["mac"]


def test_check_now_without_a_volume_goes_home(make_person):
    novolume = make_person("novolume")
    response = Client(REMOTE_USER=novolume.username).post("/backups/check/")
    assert (response.status_code, response["Location"]) == (302, "/")


def test_a_repository_change_and_an_estimate_are_shown_as_such(owner_of):
    alice = owner_of("alice")
    borg = source(None, 2 * DAY, fmt="borg", path="borg")
    borg["evidence"] = "repository_change"
    old_mac = source("old-mac", DAY)
    old_mac["evidence"] = "bands_sample"
    store(alice, [borg, old_mac])
    page = dashboard(alice)
    cells = {name: last for name, _, last, _, _ in rows(page)}
    assert cells["Borg backup in “borg”"] == "repository changed 2 days ago"
    assert cells["old-mac"] == "last written about 1 day ago (estimate) completion unknown"
    assert 'data-testid="repository-change-help"' in page
    assert "not proof of a backup" in page


def test_an_in_progress_backup_stalls_after_the_configured_time(owner_of, settings):
    settings.IN_PROGRESS_STALLED_AFTER_HOURS = 3
    alice = owner_of("alice")
    first = source("new-mac", None, state="in_progress", path="new-mac.tmp.sparsebundle")
    store(alice, [first], at=timezone.now() - 2 * HOUR)
    assert [row[3] for row in rows(dashboard(alice))] == ["in_progress"]
    store(alice, [first], at=timezone.now() - HOUR)
    assert [row[3] for row in rows(dashboard(alice))] == ["in_progress"]
    settings.IN_PROGRESS_STALLED_AFTER_HOURS = 1
    page = dashboard(alice)
    assert [row[3] for row in rows(page)] == ["stalled"]
    assert "in progress for more than 1 hour without finishing" in page
    # Finished: no longer in progress, and a later one starts afresh.
    settings.IN_PROGRESS_STALLED_AFTER_HOURS = 3
    store(alice, [source("new-mac", HOUR, path="new-mac.tmp.sparsebundle")])
    store(alice, [first])
    assert [row[3] for row in rows(dashboard(alice))] == ["in_progress"]


def test_each_computer_shows_the_space_it_takes(owner_of):
    alice = owner_of("alice")
    measured = source("mac", DAY)
    measured["size_bytes"] = 3 * 1024**3
    counted = source("big-mac", DAY)
    counted.update(size_bytes=700 * 1024**3, size_estimated=True)
    store(alice, [measured, counted, source("unknown", DAY)])
    page = dashboard(alice)
    size_cell = re.compile(r'data-testid="source-size">(.*?)</td>')
    found = {
        name: re.sub(r"<[^>]+>", "", size_cell.search(row).group(1)) for name, *_, row in rows(page)
    }
    assert found == {"mac": "3\xa0GiB", "big-mac": "≥ 700\xa0GiB", "unknown": "\u2013"}


# Issue 23: right or honestly unsure.


def test_a_write_of_unknown_completion_is_never_ok(owner_of):
    alice = owner_of("alice")
    air = source("air", HOUR)
    air["evidence"] = "last_written"
    image = source(None, 10 * DAY, fmt="macrium", path=".")
    image["evidence"] = "last_written"
    store(alice, [air, image])
    page = dashboard(alice)
    found = {name: (software, last, status) for name, software, last, status, _ in rows(page)}
    assert found == {
        "air": ("Time Machine", "last written 1 hour ago completion unknown", "unknown"),
        "Macrium Reflect backup on the whole volume": (
            "Macrium Reflect",
            "last written 1 week ago completion unknown",
            "stale",
        ),
    }
    assert 'data-testid="completion-unknown-help"' in page
    assert "Completion unknown" in page


def test_a_copy_is_labelled_a_copy_and_never_alerts(owner_of):
    alice = owner_of("alice")
    mirror = source(None, 40 * DAY, fmt="copy", path="Mirror")
    mirror["evidence"] = "copy"
    store(alice, [mirror])
    page = dashboard(alice)
    ((name, software, last, status, _),) = rows(page)
    assert (name, software, last, status) == (
        "Copied folder backup in “Mirror”",
        "Copied folder",
        "copy, newest file written 1 month ago",
        "copy",
    )
    assert 'data-testid="copy-help"' in page
    assert 'data-testid="stale-help"' not in page


def test_dates_after_the_scan_are_refused(owner_of):
    alice = owner_of("alice")
    future = source("mac", None)
    future["last_backup"] = "2099-01-01T00:00:00Z"
    scan = store(alice, [future], [{"path": "misc", "modified": "2099-01-01T00:00:00Z"}])
    assert scan.sources[0]["last_backup"] is None
    assert scan.unrecognised == [{"path": "misc", "modified": None}]
    assert scan.newest_backup is None


def test_in_progress_starts_at_the_evidence_not_at_the_first_scan(owner_of, settings):
    """An abandoned first backup (its temporary bundle made two days ago) is
    stalled at its first scan, not a day later."""
    settings.IN_PROGRESS_STALLED_AFTER_HOURS = 24
    alice = owner_of("alice")
    first = source("new-mac", None, state="in_progress", path="new-mac.tmp.sparsebundle")
    first["in_progress_since"] = wire(timezone.now() - 2 * DAY)
    scan = store(alice, [first])
    assert scan.sources[0]["in_progress_since"] == first["in_progress_since"]
    assert [row[3] for row in rows(dashboard(alice))] == ["stalled"]
    # A start after the scan that saw it running is no start.
    first["in_progress_since"] = "2099-01-01T00:00:00Z"
    scanned_at = timezone.now() - HOUR
    scan = store(owner_of("bob"), [first], at=scanned_at)
    assert scan.sources[0]["in_progress_since"] == wire(scanned_at)
