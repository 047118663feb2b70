"""The employee's dashboard and the pages around it, through Django's test
client: the order of its sections, what only admins see, the next steps
after creation, sizes in GiB, "full in about N days", and the restore
instructions, with stored scans and made-up RRD figures and the wrappers
unavailable (an empty WRAPPERS_PATH: the page must render without them);
and what the page says in the real states, from the real wrappers on the
session's pool (one real volume for the module): no volume yet, ready (its
real size and usage), deleted but protected (suspended, with the date).
tests/test_portal_views.py and tests/test_browser.py walk the real journey."""

import datetime
import re
import time

import pytest
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.utils import timezone

from backup.core.times import absolute_time
from backup.discovery import scans
from backup.stats import projection, rrd
from backup.volumes.models import Volume
from backup.volumes.status import Usage, VolumeState
from support import snapshots as snap
from support.backup_reports import wrapper_report
from support.storage import mount_options, mount_point, ok

pytestmark = pytest.mark.django_db

GIB = 1 << 30
DAY = 86400
SECTIONS = ["state", "backups", "checkins", "connect", "actions", "graphs"]


@pytest.fixture(autouse=True)
def no_wrappers(settings, tmp_path):
    settings.WRAPPERS_PATH = tmp_path
    settings.RRD_DIRECTORY = tmp_path / "rrd"


@pytest.fixture
def owner(make_person, make_volume):
    """make(prefix, staff=False, filesystem="ext4", **fields) -> a person
    (generated name) with the portal's record of a 4 GiB volume."""

    def make(prefix="emp", staff=False, filesystem="ext4", **fields):
        user = make_person(prefix, admin=staff)
        make_volume(user, size_gib=4, filesystem=filesystem, **fields)
        return user

    return make


def page_of(user, url="/"):
    response = Client(REMOTE_USER=user.username).get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def scan(user, sources=(), folders=()):
    wire = (timezone.now() - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    scans.store(
        user.backup_volume,
        wrapper_report(
            {
                "user": user.username,
                "scanned_at": wire,
                "truncated": False,
                "sources": list(sources),
                "unrecognised": [{"path": path, "modified": wire} for path in folders],
            }
        ),
    )


def time_machine(machine="Mac"):
    return {
        "machine": machine,
        "format": "time_machine",
        "path": f"{machine}.sparsebundle",
        "last_backup": None,
        "backups": 0,
        "state": "in_progress",
        "size_bytes": None,
    }


def server_history():
    now = int(time.time()) // 60 * 60
    rrd.record(rrd.server_io_file(), rrd.IO, now - 60, {"read": 1, "written": 1})
    rrd.record(rrd.server_io_file(), rrd.IO, now, {"read": 2, "written": 2})


# --- Order, and what only admins see ---------------------------------------------


def test_sections_come_in_the_order_an_employee_needs_them(owner):
    page = page_of(owner("alice"))
    found = re.findall(r'data-section="([a-z]+)"', page)
    assert found == SECTIONS
    # Their headings, in that order too.
    headings = [
        page.index(text)
        for text in (
            'id="space-heading"',
            'id="backups-heading"',
            'id="computers-heading"',
            'id="connect-heading"',
            'id="actions-heading"',
            'id="recent-heading"',
            'id="graphs-heading"',
        )
    ]
    assert headings == sorted(headings)


def test_operations_and_graphs_have_distinct_headings(owner):
    page = page_of(owner("alice"))
    assert "Recent operations" in page
    assert "Space and activity over time" in page
    assert ">History<" not in page.split('id="main"', 1)[1]


def test_employees_get_no_server_graphs(owner):
    server_history()
    page = page_of(owner("alice"))
    assert "/stats/server/" not in page
    assert "Server activity" not in page


def test_admins_get_the_server_graphs_last(owner):
    server_history()
    page = page_of(owner("boss", staff=True))
    assert re.search(r'src="/stats/server/io/[a-z]+\.png"', page)
    assert re.search(r'srcset="/stats/server/wait/[a-z]+\.png\?size=phone"', page)
    assert page.index("/stats/server/io/") > page.index('data-section="graphs"')


# --- Next steps ----------------------------------------------------------------------


def test_a_new_volume_leads_to_the_password_then_to_connecting(owner):
    page = page_of(owner("alice"))
    steps = re.search(r'data-testid="next-steps">(.*?)</div>', page, re.S).group(1)
    assert steps.index('action="/password/"') < steps.index('href="#connect"')
    assert "Get my backup password" in steps
    assert 'id="connect"' in page


def test_once_the_password_is_set_the_steps_are_gone(owner):
    page = page_of(owner("alice", password_changed_at=timezone.now()))
    assert 'data-testid="next-steps"' not in page


def test_the_welcome_text_names_the_button_instead_of_where_it_is(make_person):
    user = make_person("newbie")
    page = page_of(user)
    assert "button below" not in page
    assert "<em>Create my backup volume</em> button" in page


# --- Time Machine deletion offered only when there is some --------------------------


@pytest.mark.parametrize(
    ("sources", "folders", "offered"),
    [
        ((), (), False),
        ((), ("Photos",), False),
        ((time_machine(),), (), True),
        ((), ("Broken.sparsebundle",), True),  # damaged: unrecognised, still deletable
    ],
)
def test_time_machine_deletion_only_when_the_scan_saw_some(owner, sources, folders, offered):
    alice = owner("alice")
    scan(alice, sources, folders)
    page = page_of(alice)
    assert ("Delete Time Machine backups" in page) == offered
    assert "Delete my volume" in page


def test_time_machine_deletion_is_not_offered_before_any_scan(owner):
    assert "Delete Time Machine backups" not in page_of(owner("alice"))


# --- Sizes and "full in about N days" ----------------------------------------------


def space_card(volume, usage, **extra):
    state = VolumeState(4 * GIB, True, "/srv/userbackup/alice", "ext4", usage)
    html = render_to_string(
        "volumes/_space.html",
        {"volume": volume, "state": state, **extra},
        request=RequestFactory().get("/"),
    )
    return re.sub(r"[ \t\n]+", " ", html)  # keeping the no-break spaces


def usage(used, total=4 * GIB):
    return Usage(total, used, total - used, 1000, 10, 990)


def test_sizes_on_the_dashboard_are_in_gib(owner):
    volume = owner("alice").backup_volume
    html = space_card(volume, usage(24 * 1024, total=int(3.94 * GIB)))
    assert "3.9\xa0GiB usable (a volume of 4 GiB)" in html
    assert "24\xa0KiB" in html
    assert not re.search(r"\d\xa0[KMGT]B", html)


def growing_history(account, start, end, used_at):
    for timestamp in range(start, end + 1, 300):
        rrd.record(
            rrd.space_file(account), rrd.SPACE, timestamp,
            {"used": used_at(timestamp), "inodes": 10, "size": 4 * GIB},
        )  # fmt: skip


def test_a_growing_volume_says_when_it_will_be_full(owner):
    alice = owner("alice")
    volume = alice.backup_volume
    end = int(time.time()) // 300 * 300
    start = end - 3 * DAY
    Volume.objects.filter(pk=volume.pk).update(
        created_at=datetime.datetime.fromtimestamp(start - 60, datetime.UTC)
    )
    volume.refresh_from_db()
    # 100 MiB a day; 3 GiB used of 4: about ten days left.
    growing_history(
        volume.account, start, end, lambda t: 2 * GIB + (t - start) * 100 * (1 << 20) // DAY
    )
    used = 3 * GIB
    result = projection.volume_full_soon(volume.account, 4 * GIB, used, since=start - 60, now=end)
    assert result.rounded_days == 10
    html = space_card(volume, usage(used))
    assert "your volume is full in about 10 days" in html
    assert "100\xa0MiB a day" in html
    assert 'role="alert"' in html  # under two weeks: a warning


def test_no_projection_when_it_says_nothing_useful(owner):
    alice = owner("alice")
    volume = alice.backup_volume
    end = int(time.time()) // 300 * 300
    # Not growing.
    growing_history(volume.account, end - 3 * DAY, end, lambda t: GIB)
    assert projection.volume_full_soon(volume.account, 4 * GIB, GIB, now=end) is None
    assert 'data-testid="full-soon"' not in space_card(volume, usage(GIB))


def test_no_projection_from_less_than_a_day_or_far_off(settings, tmp_path):
    end = int(time.time()) // 300 * 300
    growing_history("bob", end - 6 * 3600, end, lambda t: GIB + (t - end) * 1000)
    assert projection.volume_full_soon("bob", 4 * GIB, GIB, now=end) is None  # six hours
    settings.RRD_DIRECTORY = tmp_path / "slow"
    growing_history("bob", end - 5 * DAY, end, lambda t: GIB + (t - end) * 10)
    assert projection.volume_full_soon("bob", 4 * GIB, GIB, now=end) is None  # ten years


def test_no_projection_from_an_earlier_volume(owner):
    end = int(time.time()) // 300 * 300
    growing_history("carol", end - 5 * DAY, end - 2 * DAY, lambda t: GIB + (t - end) * 10000)
    # Created a day ago: the growth before was another volume's.
    assert projection.volume_full_soon("carol", 4 * GIB, GIB, since=end - DAY, now=end) is None


# --- Restore instructions ------------------------------------------------------------


def test_your_backups_links_to_the_restore_instructions(owner):
    page = page_of(owner("alice"))
    assert 'href="/restore/"' in page


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("mac", "smb://{host}:4450/{account}"),
        ("windows", "\\\\{host}\\{account}"),
        ("linux", "sudo mount -t cifs //{host}/{account} /mnt/backup"),
    ],
)
def test_each_platform_says_how_to_restore_from_this_server(owner, settings, platform, expected):
    settings.SAMBA_PORT = 4450
    alice = owner("alice")
    page = page_of(alice, f"/restore/{platform}/")
    shown = expected.format(host=settings.SERVER_HOSTNAME, account=alice.username)
    assert shown in page.replace("&amp;", "&")
    index = page_of(alice, "/restore/")
    assert f'href="/restore/{platform}/"' in index


def test_linux_restore_commands_are_shown_as_typed(owner):
    page = page_of(owner("alice"), "/restore/linux/")
    assert (
        "<code>restic -r /mnt/backup/REPOSITORY snapshots\n"
        "restic -r /mnt/backup/REPOSITORY restore latest --target ~/restored</code>"
    ) in page
    assert "cd ~/restored &amp;&amp; borg extract" in page


def test_restore_pages_mention_snapshots_where_there_are_some(owner):
    ext4 = page_of(owner("alice"), "/restore/windows/")
    btrfs = page_of(owner("bob", filesystem="btrfs"), "/restore/windows/")
    assert 'data-testid="restore-snapshots"' not in ext4
    assert 'data-testid="restore-snapshots"' in btrfs
    assert 'href="/snapshots/"' in btrfs
    assert "Previous Versions" in btrfs
    # A deleted folder's way back: the read-only share of every snapshot,
    # by the name the Samba configuration gives it.
    deleted = btrfs[btrfs.index('data-testid="restore-deleted-folder"') :]
    assert "<code>\\\\127.0.0.1\\previous-versions$</code>" in deleted[: deleted.index("</p>")]
    assert 'data-testid="restore-deleted-folder"' not in ext4


def test_an_unknown_platform_is_not_found(owner):
    response = Client(REMOTE_USER=owner("alice").username).get("/restore/amiga/")
    assert response.status_code == 404


def test_restore_without_a_volume_says_so(make_person):
    user = make_person("newbie")
    page = page_of(user, "/restore/mac/")
    assert "You have no backup volume" in page


def test_the_snapshot_card_says_how_long_snapshots_are_protected(owner, settings):
    settings.SNAPSHOT_PROTECTION_DAYS = 14
    page = page_of(owner("bob", filesystem="btrfs"))
    assert "protected for 14 days" in page


def test_a_volume_with_nothing_left_to_write_is_shown_full(monkeypatch):
    """btrfs keeps blocks statvfs counts as free (f_bfree) that no one can
    write (f_bavail 0): the dashboard said 90 % of such a volume."""
    import os
    import types

    from backup.volumes import status

    figures = types.SimpleNamespace(
        f_blocks=262144, f_bfree=26000, f_bavail=0, f_frsize=4096, f_files=0, f_ffree=0
    )
    monkeypatch.setattr(os, "statvfs", lambda path: figures)
    usage = status.usage_of("/srv/userbackup/alice")
    assert usage.stored_bytes == (262144 - 26000) * 4096
    assert usage.percent == 100
    assert usage.used_bytes == usage.total_bytes
    assert usage.free_bytes == 0


def test_used_space_is_split_into_live_data_and_snapshots(owner):
    from backup.volumes import status

    volume = owner("alice", filesystem="btrfs").backup_volume
    used = usage(3 * GIB)
    split = status.split(used, GIB // 2)
    assert split == status.UsageSplit(live_bytes=int(2.5 * GIB), snapshot_bytes=GIB // 2)
    html = space_card(volume, used, usage_split=split)
    assert "2.5\xa0GiB your files, 512\xa0MiB held only by snapshots" in html
    # Unknown until the scheduled run measured them; never more than used.
    assert status.split(used, None) is None
    assert status.split(None, GIB) is None
    assert status.split(used, 5 * GIB) == status.UsageSplit(0, 3 * GIB)
    # btrfs: of 3 GiB that can't be written, the files take 2.75 GiB.
    btrfs = Usage(4 * GIB, 3 * GIB, GIB, 1000, 10, 990, stored_bytes=int(2.75 * GIB))
    split = status.split(btrfs, GIB // 2)
    assert split == status.UsageSplit(int(2.25 * GIB), GIB // 2, GIB // 4)
    assert "256\xa0MiB kept by the filesystem for itself" in space_card(
        volume, btrfs, usage_split=split
    )
    assert 'data-testid="used-split"' not in space_card(volume, used)


# --- Real states, from the real wrappers on the session's pool ----------------


@pytest.fixture(scope="module")
def real_account(wrappers):
    """One real btrfs volume for the module (a backup account, its volume
    made, mounted and owned through the wrappers, as the portal makes one),
    removed afterwards: making one takes seconds."""
    with snap.volume(wrappers) as entry:
        yield entry.pw_name


@pytest.fixture
def real_volume(portal, real_account, django_user_model):
    """The portal's record of the module's real volume, owned by the person
    of that (generated) name; the portal asks the real wrappers."""
    owner = django_user_model.objects.create(username=real_account)
    return Volume.objects.create(owner=owner, account=real_account, size_gib=1, filesystem="btrfs")


def text_of(page, testid):
    return re.search(rf'data-testid="{testid}">(.*?)</dd>', page, re.S).group(1)


@pytest.mark.root
def test_without_a_volume_the_real_pool_offers_one(portal, make_person):
    from backup.volumes import requests as services

    user = make_person()
    size = services.create_size(user)
    assert size  # the session's pool has room
    page = page_of(user)
    assert "<em>Create my backup volume</em> button" in page
    assert 'action="/volume/create/"' in page
    assert f"<strong>{size} GiB</strong>" in page
    assert "can't report your volume's state" not in page


@pytest.mark.root
def test_a_ready_volume_shows_its_real_size_and_usage(portal, real_volume):
    from backup.core.sizes import binary_size
    from backup.volumes import status

    usage = status.usage_of(mount_point(portal, real_volume.account))
    assert usage is not None
    assert usage.total_bytes > 0
    page = page_of(real_volume.owner)
    assert "can't report your volume's state" not in page
    assert text_of(page, "size") == (f"{binary_size(usage.total_bytes)} usable (a volume of 1 GiB)")
    assert text_of(page, "used").startswith(f"{binary_size(usage.used_bytes)} ({usage.percent}%)")
    assert text_of(page, "free") == binary_size(usage.free_bytes)
    assert "ready for backups" in page
    assert 'data-testid="pending-destruction"' not in page


@pytest.mark.root
@pytest.mark.django_db(transaction=True)
def test_a_deleted_volume_with_protected_snapshots_is_suspended_until_a_date(portal, real_volume):
    from backup.operations.models import Operation
    from backup.volumes import requests as services

    account, owner = real_volume.account, real_volume.owner
    # Its hour's first snapshot, an hour ago: protected for the full window.
    taken = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)).replace(
        minute=5, second=0, microsecond=0
    )
    with snap.clock(portal, taken.strftime("%Y-%m-%dT%H:%M:%SZ")):
        assert ok(portal, "snapshot-create.py", account)["snapshot"]
    try:
        operation = services.request_delete(owner, owner, account)
        operation.refresh_from_db()
        assert operation.state == Operation.State.SUCCEEDED, operation.detail
        real_volume.refresh_from_db()
        assert real_volume.destroy_after > timezone.now()
        assert mount_options(mount_point(portal, account)) is None  # really suspended
        page = page_of(owner)
        notice = re.search(r'data-testid="pending-destruction">(.*?)</form>', page, re.S).group(1)
        assert "Your volume is deleted." in notice
        assert f"destroyed on {absolute_time(real_volume.destroy_after)}" in notice
        assert "Undo the deletion" in notice
        assert "ready for backups" not in page
    finally:
        # The module's volume back as the other tests expect it.
        undone = services.request_undo_delete(owner, owner)
        undone.refresh_from_db()
        assert undone.state == Operation.State.SUCCEEDED, undone.detail
    assert mount_options(mount_point(portal, account)) is not None


def test_when_the_wrappers_are_unavailable_the_page_says_so(owner):
    """The one case kept on purpose: WRAPPERS_PATH is an empty directory
    (no_wrappers), as when the server's wrappers are missing or broken."""
    page = page_of(owner())
    assert "The backup server can't report your volume's state right now." in page
    assert 'data-testid="usage"' not in page
    assert "Your volume is deleted." not in page
