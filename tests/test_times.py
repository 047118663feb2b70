"""Times in each person's own zone, one format per kind (issue 24): the
preference (stored, validated, offered from the browser), the same instant
shown right on the dashboard, the snapshots list, the audit log and the
admin pages for a person in Helsinki and one in New York, seconds only where
two snapshots share a minute, and the guard that no template formats a
time by itself."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone, translation

from backup.core import times
from backup.operations.models import Operation
from backup.pages import zones
from backup.pages.models import TimeZonePreference
from backup.snapshots import services
from support.snapshot_outputs import GIB, answer_browse, answer_dashboard, listed, name_at

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent
# 15:03:00 UTC: 17:03 in Helsinki (EET), 10:03 in New York (EST).
INSTANT = datetime(2026, 12, 7, 15, 3, 0, tzinfo=UTC)
HELSINKI = "Dec. 7, 2026, 5:03 p.m. EET"
NEW_YORK = "Dec. 7, 2026, 10:03 a.m. EST"
ZONES = [("Europe/Helsinki", HELSINKI), ("America/New_York", NEW_YORK)]


def choose_zone(user, zone):
    TimeZonePreference.objects.update_or_create(user=user, defaults={"zone": zone})


# --- The one module ---------------------------------------------------------------


def test_absolute_time_is_the_locales_date_and_time_with_the_zone():
    with translation.override("en"):
        for zone, expected in ZONES:
            with timezone.override(zone):
                assert times.absolute_time(INSTANT) == expected
        with timezone.override("Europe/Helsinki"):
            assert times.absolute_time(INSTANT, seconds=True) == "Dec. 7, 2026, 5:03:00 p.m. EET"
            assert times.file_name_time(INSTANT) == "2026-12-07 17.03 EET"
            # Machines read UTC, whatever the reader's zone.
            assert times.machine_time(INSTANT) == "2026-12-07T15:03:00Z"
    with translation.override("fi"), timezone.override("Europe/Helsinki"):
        assert times.absolute_time(INSTANT, seconds=True).endswith("17.03.00 EET")
    assert times.absolute_time(None) == ""


def test_relative_time_says_how_long_ago():
    with translation.override("en"):
        assert times.relative_time(INSTANT - timedelta(hours=3), INSTANT) == "3 hours ago"
        assert times.relative_time(INSTANT - timedelta(seconds=20), INSTANT) == "just now"
        assert times.relative_time(INSTANT + timedelta(days=2), INSTANT) == "in 2 days"


TIME_FILTERS = re.compile(r"\|\s*(date|time|timesince|timeuntil|naturaltime|naturalday)\b")


def test_no_template_formats_a_time_itself():
    """The guard: every time in a template goes through {% load times %}."""
    offenders = []
    for path in sorted((ROOT / "templates").rglob("*")):
        if path.is_file():
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if TIME_FILTERS.search(line) or " UTC" in line.replace("(UTC)", ""):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}")
    assert offenders == []


def test_no_user_facing_python_sentence_says_utc():
    """Python sentences shown to people use backup.core.times too (logs,
    exports and /metrics stay UTC and are not sentences)."""
    for source in sorted((ROOT / "backup").rglob("*.py")):
        assert not re.search(r"%H:%M\}? UTC", source.read_text()), source


# --- The preference -----------------------------------------------------------------


def test_a_person_chooses_their_zone_and_every_page_follows(django_user_model):
    user = django_user_model.objects.create(username="tz" + timezone.now().strftime("%f"))
    client = Client(REMOTE_USER=user.username)
    page = client.get("/").content.decode()
    assert f"Times in {settings.TIME_ZONE}" in page  # the site's default
    form = client.get("/time-zone/", {"next": "/operations/"}).content.decode()
    assert "<option selected>UTC</option>" in form
    assert "js/time-zone.js" in form  # the browser's zone, suggested (self-hosted script)
    assert 'data-suggestion="Your browser says you are in %(zone)s' in form
    response = client.post("/time-zone/", {"zone": "Europe/Helsinki", "next": "/operations/"})
    assert (response.status_code, response.url) == (302, "/operations/")
    assert TimeZonePreference.objects.get(user=user).zone == "Europe/Helsinki"
    assert "Times in Europe/Helsinki" in client.get("/").content.decode()
    assert zones.zone_of(user) == "Europe/Helsinki"


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "", "../../etc/localtime", "europe/helsinki", "UTC\n", "x" * 500]
)
def test_an_unknown_zone_is_refused_and_nothing_changes(django_user_model, zone):
    user = django_user_model.objects.create(username="tzbad" + timezone.now().strftime("%f"))
    choose_zone(user, "America/New_York")
    client = Client(REMOTE_USER=user.username)
    response = client.post("/time-zone/", {"zone": zone, "next": "https://evil.example/"})
    assert response.status_code == 400
    assert "That is not a time zone this server knows. Nothing was changed." in (
        response.content.decode()
    )
    assert TimeZonePreference.objects.get(user=user).zone == "America/New_York"


def test_an_offsite_next_is_not_followed(django_user_model):
    user = django_user_model.objects.create(username="tznext" + timezone.now().strftime("%f"))
    response = Client(REMOTE_USER=user.username).post(
        "/time-zone/", {"zone": "Asia/Tokyo", "next": "https://evil.example/"}
    )
    assert response.url == "/"


def test_a_zone_the_system_no_longer_knows_falls_back_to_the_sites(django_user_model):
    user = django_user_model.objects.create(username="tzgone" + timezone.now().strftime("%f"))
    choose_zone(user, "Gone/Zone")
    assert zones.zone_of(user) == settings.TIME_ZONE


# --- The same instant on each page ----------------------------------------------------


@pytest.mark.parametrize(("zone", "expected"), ZONES)
def test_the_dashboard_and_snapshots_show_local_time_with_zone(
    recorded, make_volume, zone, expected
):
    volume = make_volume()
    choose_zone(volume.owner, zone)
    answer_dashboard(recorded, volume, INSTANT)
    client = Client(REMOTE_USER=volume.account)
    for url in ("/", "/snapshots/"):
        page = client.get(url).content.decode()
        table = page[page.index('data-testid="snapshot-table"') :]
        assert expected in table, url
        shown = re.sub(r'datetime="[^"]*"', "", table)  # machines read UTC there
        assert "15:03" not in shown  # people never see the UTC wall clock
        assert name_at(INSTANT) in table  # the name, as secondary text


@pytest.mark.parametrize(("zone", "expected"), ZONES)
def test_the_audit_log_and_admin_pages_show_local_time_with_zone(
    recorded, make_volume, django_user_model, settings, zone, expected
):
    volume = make_volume()
    admin = django_user_model.objects.create(username="tzadmin" + timezone.now().strftime("%f"))
    settings.BACKUP_ADMINS = [admin.username]
    choose_zone(admin, zone)
    operation = Operation.objects.create(
        kind=Operation.Kind.MOUNT,
        owner=volume.owner,
        owner_name=volume.account,
        actor=volume.owner,
        actor_name=volume.account,
        state=Operation.State.SUCCEEDED,
    )
    Operation.objects.filter(pk=operation.pk).update(requested_at=INSTANT, finished_at=INSTANT)
    client = Client(REMOTE_USER=admin.username)
    audit = client.get("/staff/audit/").content.decode()
    # The audit log tells records apart to the second.
    assert expected.replace(":03 ", ":03:00 ") in audit
    assert 'datetime="2026-12-07T15:03:00Z"' in audit
    assert expected in client.get(f"/operations/{operation.pk}/").content.decode()

    recorded.answer("snapshot-list.py", listed(volume.account, INSTANT))
    services.refresh_listing()
    recorded.answer(
        "vgdisplay.py",
        {
            "backend": "loopfile",
            "name": "pool",
            "size_bytes": 20 * GIB,
            "allocated_bytes": GIB,
            "free_bytes": 19 * GIB,
            "used_bytes": GIB,
            "volume_count": 1,
        },
    )
    snapshots_page = client.get("/staff/snapshots/").content.decode()
    row = snapshots_page[snapshots_page.index(f"<td>{volume.account}</td>") :].split("</tr>")[0]
    assert expected in row


def test_snapshots_in_one_minute_are_told_apart_by_their_seconds(recorded, make_volume):
    volume = make_volume()
    choose_zone(volume.owner, "Europe/Helsinki")
    second = INSTANT + timedelta(seconds=41)
    later = INSTANT + timedelta(hours=1)
    answer_dashboard(recorded, volume, INSTANT, second, later)
    page = Client(REMOTE_USER=volume.account).get("/snapshots/").content.decode()
    assert "Dec. 7, 2026, 5:03:00 p.m. EET" in page
    assert "Dec. 7, 2026, 5:03:41 p.m. EET" in page
    assert "Dec. 7, 2026, 6:03 p.m. EET" in page  # alone in its minute: no seconds
    # A page of one of the two is titled with its seconds too.
    answer_browse(recorded, volume, name_at(second))
    page = Client(REMOTE_USER=volume.account).get(f"/snapshots/{name_at(second)}/").content.decode()
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S).group(1)
    assert heading == "Snapshot of Dec. 7, 2026, 5:03:41 p.m. EET"


def test_a_snapshots_name_is_never_its_pages_title(recorded, make_volume):
    volume = make_volume()
    choose_zone(volume.owner, "America/New_York")
    snapshot = name_at(INSTANT)
    answer_browse(recorded, volume, snapshot)
    client = Client(REMOTE_USER=volume.account)
    for url in (f"/snapshots/{snapshot}/", f"/snapshots/{snapshot}/rollback/"):
        page = client.get(url).content.decode()
        title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
        heading = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S).group(1)
        assert snapshot not in title + heading, url
        assert NEW_YORK in heading, url
        assert f"In Windows Previous Versions: {snapshot}" in page
