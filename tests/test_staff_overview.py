"""The admin overview: pages, filters (opening on what needs attention),
name search, the quota column, links, sort orders over every page, exact
counts, the reused inventory and its refresh, refused queries; and the
page's units and overcommit sentence.

Real wrappers: the volumes the table lists are images in the session's
loop-file pool (what the inventory reads) with their portal records, and
one volume made for real through the portal where usage matters."""

import dataclasses
import os
import re
from pathlib import Path

import pytest
from django.core.cache import caches
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from backup.core.sizes import binary_size
from backup.operations.models import Operation
from backup.privileged.client import Counter
from backup.staff import inventory
from backup.staff.pool import Pool
from backup.staff.rows import VolumeRow
from backup.staff.selection import FILTERS
from backup.volumes.models import Quota, Volume
from support.people import signed_in

MIB = 1024**2
GIB = 1024**3
COUNT = 120


@pytest.fixture
def admin_client(admin):
    return signed_in(admin)


@pytest.fixture
def listed_volumes(portal, django_user_model):
    """COUNT volumes as the inventory sees them: an image each in the pool
    (sizes 1 to 7 MiB, unmounted) and the portal's record; removed after."""
    pool = Path(portal.settings["LOOPFILE_POOL"])
    token = portal.base.name.rsplit("-", 1)[-1]
    names = [f"ov{token}{number:03d}" for number in range(COUNT)]
    images = []
    try:
        for number, name in enumerate(names):
            image = pool / f"{name}.img"
            with open(image, "wb") as made:
                made.truncate((number % 7 + 1) * MIB)
            images.append(image)
        users = django_user_model.objects.bulk_create(
            django_user_model(username=name) for name in names
        )
        Volume.objects.bulk_create(
            Volume(owner=user, account=user.username, size_gib=1, filesystem="ext4")
            for user in users
        )
        yield names
    finally:
        for image in images:
            image.unlink(missing_ok=True)


def get(client, query="", status=200):
    response = client.get(f"/staff/{query}")
    assert response.status_code == status, response.content.decode()[-2000:]
    return response


def accounts(response):
    return [row.account for row in response.context["rows"]]


def filter_links(response):
    return {
        link["url"]: f"{link['label']} ({link['count']})"
        for link in response.context["filter_links"]
    }


def every_page(client, query):
    """The rows of every page of a listing, following its Next links."""
    shown, url = [], query
    while True:
        response = get(client, url)
        shown += accounts(response)
        url = response.context["page_links"].get("next")
        if url is None:
            return shown, response


# --- Pages, sort orders, counts ----------------------------------------------


def test_pages_follow_one_sort_order_across_the_whole_inventory(listed_volumes, admin_client):
    first = get(admin_client, "?show=all&sort=user&order=desc")
    assert len(first.context["rows"]) == 50
    assert first.context["page"].paginator.num_pages == 3
    shown, last = every_page(admin_client, "?show=all&sort=user&order=desc")
    assert shown == sorted(listed_volumes, reverse=True)
    assert len(last.context["rows"]) == COUNT - 100
    page = last.content.decode()
    assert "Page 3 of 3" in page
    assert 'href="?show=all&amp;order=desc&amp;page=2" rel="prev"' in page

    by_size, _ = every_page(admin_client, "?show=all&sort=size")
    sizes = {name: (number % 7 + 1) * MIB for number, name in enumerate(listed_volumes)}
    assert by_size == sorted(listed_volumes, key=lambda name: (sizes[name], name))


def test_counts_cover_the_whole_inventory_not_the_page(listed_volumes, admin_client):
    response = get(admin_client, "?q=1&show=all")
    links = filter_links(response)
    # Each listed volume is unmounted: a problem, so it needs attention.
    assert links == {
        "?q=1": f"Needs attention ({COUNT})",
        "?q=1&show=stale": "Stale backups (0)",
        "?q=1&show=full": "Nearly full (0)",
        "?q=1&show=failing": f"Problems ({COUNT})",
        "?q=1&show=never": "Never used (0)",
        "?q=1&show=all": f"All ({COUNT})",
    }
    matching = [name for name in listed_volumes if "1" in name]
    assert f"Volumes ({len(matching)} of {COUNT})" in response.content.decode()


def test_a_page_beyond_the_last_shows_the_last(listed_volumes, admin_client):
    response = get(admin_client, "?show=all&page=99")
    assert response.context["page"].number == 3


# --- What the page opens on ----------------------------------------------------


@pytest.mark.root
@pytest.mark.django_db(transaction=True)
def test_the_page_opens_on_what_needs_attention(portal, make_employee, admin_client, settings):
    healthy = make_employee()
    signed_in = Client(REMOTE_USER=healthy.username)
    assert signed_in.post("/volume/create/").status_code == 302
    volume = Volume.objects.get(owner=healthy)

    opening = get(admin_client)
    assert healthy.username not in accounts(opening)
    assert filter_links(opening)["?"] == "Needs attention (0)"
    assert "No volume matches this filter." in opening.content.decode()
    assert healthy.username in accounts(get(admin_client, "?show=all"))

    # Nearly full: written past the threshold (lowered, the volume is 1 GiB).
    settings.NEAR_QUOTA_PERCENTS = [3, 90]
    mount_point = Path(portal.settings["DIRECTORIES_ROOT"]) / volume.account
    with open(mount_point / "filling", "wb") as filling:
        filling.write(os.urandom(60 * MIB))
        os.fsync(filling.fileno())
    os.sync()  # btrfs counts the space once it is on disk
    full = get(admin_client, "?show=full", status=200)
    assert full.context["rows"] == []  # the inventory shown was taken before
    admin_client.post("/staff/?show=full")
    full = get(admin_client, "?show=full")
    assert accounts(full) == [healthy.username]
    assert "nearly full" in full.content.decode()
    assert accounts(get(admin_client)) == [healthy.username]
    settings.NEAR_QUOTA_PERCENTS = []  # near-quota alerts off: nothing is nearly full
    admin_client.post("/staff/?show=full")
    assert accounts(get(admin_client, "?show=full")) == []

    # Its last operation failed: a problem, shown at once (an operation
    # that finishes makes a new inventory).
    settings.NEAR_QUOTA_PERCENTS = [80, 90, 95]
    Operation.objects.create(
        kind=Operation.Kind.ADD_SPACE,
        state=Operation.State.FAILED,
        owner=healthy,
        owner_name=healthy.username,
        actor_name=healthy.username,
        finished_at=timezone.now(),
    )
    failing = get(admin_client, "?show=failing")
    assert accounts(failing) == [healthy.username]
    assert "last operation failed" in failing.content.decode()


# --- Search, quota column, links --------------------------------------------


def test_search_by_name_keeps_the_filter_and_the_sort(listed_volumes, admin_client):
    wanted = listed_volumes[42]
    part = wanted[:-1].upper()  # the ten names ending in 40 to 49
    response = get(admin_client, f"?show=all&sort=size&q={part}")
    assert sorted(accounts(response)) == sorted(
        n for n in listed_volumes if n.startswith(part.lower())
    )
    assert len(accounts(response)) == 10
    page = response.content.decode()
    assert f'value="{part}"' in page
    assert '<input type="hidden" name="show" value="all">' in page
    assert '<input type="hidden" name="sort" value="size">' in page
    assert get(admin_client, "?show=all&q=nobody-has-this").context["rows"] == []


def test_a_search_looks_at_every_volume_not_only_the_open_tab(listed_volumes, admin_client):
    """The page opens on "Needs attention"; a name typed into the search is
    looked for among all volumes (unless a filter is chosen with it)."""
    part = listed_volumes[7][:-1]
    response = get(admin_client, f"?q={part}")
    assert len(accounts(response)) == 10
    assert get(admin_client, f"?show=attention&q={part}").status_code == 200


def test_the_table_comes_before_the_pool_graphs(listed_volumes, admin_client):
    """Search results were 1,500 px down the page, below the graphs."""
    page = get(admin_client, f"?q={listed_volumes[7][:-1]}").content.decode()
    assert 'id="pool-history"' in page
    assert page.index('data-testid="volume-search"') < page.index('id="pool-history"')
    assert page.index('id="volumes-heading"') < page.index('id="pool-history"')


def test_a_search_for_a_whole_name_goes_to_that_person(listed_volumes, admin_client):
    wanted = listed_volumes[42]
    for typed in (wanted, wanted.upper()):
        response = admin_client.get(f"/staff/?q={typed}")
        assert response.status_code == 302
        assert response["Location"] == reverse("staff:person", args=[wanted])


def test_a_volume_pending_destruction_needs_attention():
    """Deleted by its owner, waiting for its snapshots' protection to pass:
    an admin should see it (it still takes pool space, and the owner may
    ask for it back), though nothing about it is failing."""
    healthy = VolumeRow(
        account="pending", owner="pending", size_bytes=GIB, mounted=True,
        filesystem="btrfs", used_bytes=0, total_bytes=GIB,
        created_at=timezone.now(), known_to_portal=True, on_server=True,
        pending_destruction=False, quota_gib=3, last_operation_failed=False,
    )  # fmt: skip
    attention = FILTERS["attention"].keeps
    assert not attention(healthy)
    pending = dataclasses.replace(healthy, pending_destruction=True, mounted=False)
    assert not pending.failing
    assert attention(pending)


def test_the_quota_column_and_the_links_to_each_person(listed_volumes, admin_client):
    owner = Volume.objects.get(account=listed_volumes[0]).owner
    Quota.objects.create(user=owner, max_size_gib=7)
    response = get(admin_client, "?show=all&sort=quota&order=desc")
    first = response.context["table"][0]
    assert first["account"] == listed_volumes[0]
    assert first["quota"] == "7\xa0GiB"
    assert response.context["table"][1]["quota"] == "3\xa0GiB"  # DEFAULT_QUOTA in tests
    person = reverse("staff:person", args=[listed_volumes[0]])
    assert f'<td><a href="{person}">{listed_volumes[0]}</a>' in response.content.decode()


# --- The reused inventory ----------------------------------------------------


def test_the_inventory_is_reused_until_refreshed(listed_volumes, admin_client):
    before = Counter.calls
    first = get(admin_client, "?show=all")
    assert Counter.calls - before == 2  # the pool and the volumes
    taken = r"Inventory taken at [^<]+:\d\d:\d\d [ap]\.m\. UTC, \d+ s ago\."
    assert re.search(taken, first.content.decode())
    before = Counter.calls
    get(admin_client, "?show=all&page=2")
    get(admin_client, "?show=stale")
    assert Counter.calls == before

    refreshed = admin_client.post("/staff/?show=all&page=2")
    assert refreshed.status_code == 302
    assert refreshed["Location"] == "/staff/?show=all&page=2"
    assert Counter.calls - before == 2
    before = Counter.calls
    get(admin_client, "?show=all")
    assert Counter.calls == before


def test_the_page_makes_a_fixed_number_of_queries(
    listed_volumes, admin_client, django_assert_num_queries
):
    """Taking the inventory reads every volume's record, quota, last
    operation and scan in bulk (seven queries with the session's), and a
    page from the reused inventory makes five, for all 120 volumes."""
    get(admin_client, "?show=stale")  # signed in
    caches["inventory"].clear()
    with django_assert_num_queries(7):
        taken = get(admin_client, "?show=all")
    with django_assert_num_queries(5):
        reused = get(admin_client, "?show=all&page=2")
    assert taken.context["total"] == reused.context["total"] >= COUNT


def test_an_old_inventory_is_taken_again(listed_volumes, admin_client, settings):
    settings.STAFF_INVENTORY_MAX_AGE = 0
    before = Counter.calls
    get(admin_client, "?show=all")
    get(admin_client, "?show=all")
    assert Counter.calls - before == 4


def test_while_another_process_takes_one_the_last_inventory_is_shown(
    listed_volumes, admin_client, settings
):
    get(admin_client, "?show=all")
    settings.STAFF_INVENTORY_MAX_AGE = 0
    caches["inventory"].add(inventory.TAKING, 12345, 60)  # another process at it
    before = Counter.calls
    waiting = get(admin_client, "?show=all")
    assert Counter.calls == before
    assert "Inventory taken at" in waiting.content.decode()
    caches["inventory"].delete(inventory.TAKING)  # it died, or finished
    get(admin_client, "?show=all")
    assert Counter.calls - before == 2
    assert caches["inventory"].get(inventory.TAKING) is None


def test_the_daemons_processes_share_the_inventory_through_files(
    listed_volumes, admin_client, settings, tmp_path
):
    settings.CACHES = {
        **settings.CACHES,
        "inventory": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "inventory"),
        },
    }
    try:
        before = Counter.calls
        first = get(admin_client, "?show=all&sort=size")
        assert Counter.calls - before == 2
        # Another process: nothing decoded in memory, only the shared files.
        inventory._decoded = None
        second = get(admin_client, "?show=all&sort=size")
        assert Counter.calls - before == 2
        assert second.context["table"] == first.context["table"]
        assert second.context["taken_at"] == first.context["taken_at"]
        assert len(list((tmp_path / "inventory").iterdir())) == 2  # stamp and inventory
        # Each inventory is deleted two inventories later: files don't pile up.
        for _ in range(4):
            admin_client.post("/staff/")
        assert len(list((tmp_path / "inventory").iterdir())) == 3  # and the one before
    finally:
        caches["inventory"].clear()


def test_only_staff_may_refresh_and_only_with_the_csrf_token(
    listed_volumes, admin_client, admin, person
):
    before = Counter.calls
    assert signed_in(person).post("/staff/").status_code == 403
    forged = signed_in(admin, enforce_csrf_checks=True).post("/staff/")
    assert forged.status_code == 403
    assert Counter.calls == before


# --- Refused queries ---------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?q=%3Cscript%3E", "Name"),
        ("?q=two%20words", "Name"),
        ("?q=" + "a" * 65, "Name"),
        ("?show=everything", "Show"),
        ("?sort=password", "Sort by"),
        ("?order=sideways", "Order"),
        ("?page=0", "Page"),
        ("?page=first", "Page"),
    ],
)
def test_a_bad_query_is_refused_clearly(listed_volumes, admin_client, query, field):
    operations = Operation.objects.count()
    response = get(admin_client, query, status=400)
    page = response.content.decode()
    errors = re.search(r'data-testid="query-errors">(.*?)</div>', page, re.S).group(1)
    assert f"<li>{field}: " in errors
    assert "<script>" not in page
    assert "rows" not in response.context
    assert Operation.objects.count() == operations


# --- Units and the overcommit sentence ----------------------------------------


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (1023, "1023 bytes"),
        (1024, "1 KiB"),
        (24 * 1024, "24 KiB"),
        (int(3.94 * GIB), "3.9 GiB"),
        (4 * GIB, "4 GiB"),
        (3 * 1024**4, "3 TiB"),
        (None, "\u2013"),
    ],
)
def test_sizes_are_in_binary_units(size, text):
    assert binary_size(size) == text.replace(" ", "\xa0")


def pool(size, allocated, used, free=None):
    free = size - allocated if free is None else free
    return Pool("loopfile", "pool", size, allocated, used, free, 3)


@pytest.mark.parametrize(
    ("figures", "sentence"),
    [
        (
            (1000 * GIB, 920 * GIB, 12 * GIB),
            "Volumes are promised 77 times the space they use (92 % of the pool is "
            "given to volumes, 1.2 % is used). If every volume filled up, they would still "
            "fit: they need 920 GiB and the pool holds 1000 GiB.",
        ),
        (
            (1000 * GIB, 500 * GIB, 200 * GIB),
            "Volumes are promised 2.5 times the space they use (50 % of the pool is "
            "given to volumes, 20 % is used). If every volume filled up, they would still "
            "fit: they need 500 GiB and the pool holds 1000 GiB.",
        ),
        (
            # A loop-file pool promises more than it holds (sparse images).
            (100 * GIB, 400 * GIB, 30 * GIB, 70 * GIB),
            "Volumes are promised 13 times the space they use (400 % of the pool is "
            "given to volumes, 30 % is used). If every volume filled up, they would need "
            "400 GiB, 300 GiB more than the pool's 100 GiB: writes start failing once "
            "another 70 GiB is written, so add disk before the pool's use gets there.",
        ),
        (
            (1000 * GIB, 100 * GIB, 99 * GIB),
            "Volumes use about all the space they are given (10 % of the pool is given "
            "to volumes, 9.9 % is used).",
        ),
        (
            (1000 * GIB, 100 * GIB, 0),
            "Nothing is written yet: volumes are given 10 % of the pool and use none of it.",
        ),
        ((1000 * GIB, 0, 0), "No space is given to volumes yet."),
    ],
)
def test_the_overcommit_is_said_in_words(figures, sentence):
    expected = sentence.replace(" %", "\xa0%").replace(" GiB", "\xa0GiB")
    assert pool(*figures).overcommit_sentence() == expected
