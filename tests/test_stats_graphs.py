"""The graph endpoints: who may see which graph, valid PNGs, caching
headers, and the pages that show them. RRDs are filled with made-up
figures here; tests/test_stats_collect.py does it with real volumes."""

import datetime
import re
import struct
import threading
import time

import pytest
from django.test import Client

from backup.stats import graphs, rrd, views
from backup.volumes.models import Volume
from support.waiting import filesystem_clock_passes

pytestmark = pytest.mark.django_db

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GIB = 1 << 30
PERIODS = ["hour", "day", "week", "month", "year"]


def png_size(content):
    """(width, height) from a PNG's IHDR chunk, after checking the signature."""
    assert content.startswith(PNG_SIGNATURE)
    assert content[12:16] == b"IHDR"
    return struct.unpack(">II", content[16:24])


@pytest.fixture
def history(settings, tmp_path):
    """Two hours of figures for alice's and bob's volumes, the pool and the server."""
    settings.RRD_DIRECTORY = tmp_path / "rrd"
    end = int(time.time()) // 60 * 60
    for step, timestamp in enumerate(range(end - 7200, end + 1, 60)):
        for account in ("alice", "bob"):
            space = {"used": GIB + step * 10**6, "inodes": 100 + step, "size": 4 * GIB}
            rrd.record(rrd.space_file(account), rrd.SPACE, timestamp, space)
            io = {"read": step * 10**6, "written": step * 3 * 10**6, "ios": step * 50,
                  "io_ms": step * 200, "queue_ms": step * 300, "inflight": step % 3}  # fmt: skip
            rrd.record(rrd.io_file(account), rrd.IO, timestamp, io)
        rrd.record(rrd.server_io_file(), rrd.IO, timestamp, io)
        pool = {"size": 20 * GIB, "allocated": 8 * GIB, "used": 2 * GIB + step * 10**6,
                "free": 12 * GIB}  # fmt: skip
        rrd.record(rrd.pool_file(), rrd.POOL, timestamp, pool)
    return settings.RRD_DIRECTORY


@pytest.fixture
def people(django_user_model):
    made = {}
    for name, staff in (("alice", False), ("bob", False), ("carol", False), ("boss", True)):
        made[name] = django_user_model.objects.create(username=name, is_staff=staff)
    for name in ("alice", "bob"):
        Volume.objects.create(owner=made[name], account=name, size_gib=4, filesystem="ext4")
    return made


def as_user(name):
    return Client(REMOTE_USER=name)


@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("graph", ["space", "io"])
def test_owner_gets_their_volumes_graphs_as_png(history, people, graph, period):
    response = as_user("alice").get(f"/stats/volumes/alice/{graph}/{period}.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    width, height = png_size(response.content)
    # The plot area (560 x 150) plus axes, title and legend.
    assert width > 560
    assert height > 150
    assert len(response.content) > 2000


@pytest.mark.parametrize("graph", ["space", "io"])
def test_admin_gets_every_volumes_graphs(history, people, graph):
    for account in ("alice", "bob"):
        response = as_user("boss").get(f"/stats/volumes/{account}/{graph}/day.png")
        assert response.status_code == 200
        png_size(response.content)


@pytest.mark.parametrize(
    "url",
    [
        "/stats/volumes/bob/space/day.png",
        "/stats/volumes/bob/io/week.png",
        "/stats/volumes/bob/",
        "/stats/volumes/nobody/space/day.png",
    ],
)
def test_another_persons_volume_is_not_found(history, people, url):
    response = as_user("alice").get(url)
    assert response.status_code == 404
    assert not response.content.startswith(PNG_SIGNATURE)


def test_someone_without_a_volume_sees_no_volume_graph(history, people):
    assert as_user("carol").get("/stats/volumes/alice/space/day.png").status_code == 404


@pytest.mark.parametrize("graph", ["io", "wait"])
def test_only_admins_see_the_server_activity(history, people, graph):
    response = as_user("boss").get(f"/stats/server/{graph}/day.png")
    assert response.status_code == 200
    png_size(response.content)
    for name in ("alice", "carol"):
        response = as_user(name).get(f"/stats/server/{graph}/day.png")
        assert response.status_code == 403
        assert not response.content.startswith(PNG_SIGNATURE)


def test_only_admins_see_the_pool(history, people):
    assert as_user("alice").get("/stats/pool/day.png").status_code == 403
    response = as_user("boss").get("/stats/pool/month.png")
    assert response.status_code == 200
    png_size(response.content)


@pytest.mark.parametrize(
    "url", ["/stats/server/io/day.png", "/stats/volumes/alice/space/day.png", "/stats/pool/day.png"]
)
def test_nobody_signed_in_sees_nothing(history, people, url):
    response = Client().get(url)
    assert response.status_code == 401
    assert not response.content.startswith(PNG_SIGNATURE)


@pytest.mark.parametrize(
    "url",
    [
        "/stats/volumes/alice/space/decade.png",
        "/stats/volumes/alice/disk/day.png",
        "/stats/server/space/day.png",
        "/stats/pool/forever.png",
        "/stats/volumes/ALICE/space/day.png",
    ],
)
def test_unknown_graphs_and_periods_are_not_found(history, people, url):
    assert as_user("boss").get(url).status_code == 404


def test_a_graph_without_history_is_not_found(settings, tmp_path, people):
    settings.RRD_DIRECTORY = tmp_path / "empty"
    assert as_user("alice").get("/stats/volumes/alice/space/day.png").status_code == 404
    assert as_user("boss").get("/stats/server/io/day.png").status_code == 404


def test_a_corrupt_file_is_a_short_error_not_a_traceback(history, people):
    rrd.space_file("alice").write_bytes(b"garbage")
    response = as_user("alice").get("/stats/volumes/alice/space/day.png")
    assert response.status_code == 503
    assert response.content == b"The graph could not be drawn."


def test_graphs_carry_caching_headers_and_answer_not_modified(history, people):
    url = "/stats/volumes/alice/space/day.png"
    first = as_user("alice").get(url)
    assert "private" in first["Cache-Control"]
    assert "max-age=60" in first["Cache-Control"]
    assert first["ETag"].startswith('"')
    assert first["Last-Modified"].endswith("GMT")

    again = as_user("alice").get(url, headers={"If-None-Match": first["ETag"]})
    if again.status_code == 200:  # a minute boundary passed: the axis moved on
        again = as_user("alice").get(url, headers={"If-None-Match": again["ETag"]})
    assert again.status_code == 304
    assert again.content == b""

    # New figures change the image, so the old ETag no longer matches.
    filesystem_clock_passes(rrd.space_file("alice"))
    end = int(time.time()) // 60 * 60 + 60
    rrd.record(rrd.space_file("alice"), rrd.SPACE, end, {"used": 2 * GIB, "size": 4 * GIB})
    changed = as_user("alice").get(url, headers={"If-None-Match": again["ETag"]})
    assert changed.status_code == 200
    png_size(changed.content)


def test_another_persons_etag_reveals_nothing(history, people):
    owner = as_user("alice").get("/stats/volumes/alice/space/day.png")
    response = as_user("carol").get(
        "/stats/volumes/alice/space/day.png", headers={"If-None-Match": owner["ETag"]}
    )
    assert response.status_code == 404


def test_volume_page_shows_every_period(history, people):
    response = as_user("alice").get("/stats/volumes/alice/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Your volume over time" in html
    for period in ("day", "week", "month", "year"):
        assert f'src="/stats/volumes/alice/space/{period}.png"' in html
        assert f'src="/stats/volumes/alice/io/{period}.png"' in html
    admin_view = as_user("boss").get("/stats/volumes/bob/").content.decode()
    assert "Volume bob over time" in admin_view


def test_admin_looks_up_a_volumes_graphs(history, people):
    response = as_user("boss").get("/stats/volumes/", {"account": "bob"})
    assert response.status_code == 302
    assert response["Location"] == "/stats/volumes/bob/"
    assert as_user("boss").get("/stats/volumes/", {"account": "../x"}).status_code == 404
    assert as_user("alice").get("/stats/volumes/", {"account": "bob"}).status_code == 403


def test_graphs_drawn_at_once_by_several_threads(history):
    """A threaded web server draws a page's images at the same time; librrd
    alone corrupts its heap then (the process aborts)."""
    graph = graphs.server_wait()
    images = []

    def draw():
        images.extend(graphs.render(graph, "hour", int(time.time())) for _ in range(3))

    threads = [threading.Thread(target=draw) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(images) == 24
    for image in images:
        png_size(image)


# --- What the graphs say: units, missing data, one volume's own history -----------


def fresh_rrds(settings, tmp_path, account="alice"):
    """Files as the collectors make them before their second figure: one
    update each, so every period has (next to) nothing to show."""
    settings.RRD_DIRECTORY = tmp_path / "fresh"
    now = int(time.time())
    unknown = {"used": None, "inodes": None, "size": None}
    rrd.record(rrd.space_file(account), rrd.SPACE, now, unknown)
    rrd.record(rrd.io_file(account), rrd.IO, now, {})
    rrd.record(rrd.server_io_file(), rrd.IO, now, {})
    rrd.record(rrd.pool_file(), rrd.POOL, now, {})
    return now


GRAPHS = {
    "space": lambda: graphs.space("alice"),
    "volume io": lambda: graphs.volume_activity("alice"),
    "server io": graphs.server_activity,
    "server wait": graphs.server_wait,
    "pool": graphs.pool,
}


@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("kind", sorted(GRAPHS))
def test_a_graph_without_data_says_so_instead_of_nan(settings, tmp_path, kind, period):
    now = fresh_rrds(settings, tmp_path)
    texts = graphs.legends(GRAPHS[kind](), period, now)
    assert texts
    assert not [text for text in texts if "nan" in text.lower()], texts
    assert graphs.NO_DATA in " ".join(texts)


@pytest.mark.parametrize("period", PERIODS)
def test_sizes_in_legends_are_binary_units(history, period):
    end = int(time.time()) // 60 * 60
    texts = " ".join(graphs.legends(graphs.space("alice"), period, end))
    assert "nan" not in texts.lower()
    # 1 GiB plus up to 120 MB used, on a 4 GiB volume. The coarser archives
    # of the longer periods hold a point of two hours' history only when a
    # consolidation step happens to lie wholly inside it (it depends on the
    # clock): then the figures, else "no data yet" (tested on its own below).
    figures = bool(re.search(r"1\.[01] GiB now", texts)) and "4.0 GiB" in texts
    if period in ("hour", "day", "week"):
        assert figures, texts
    else:
        assert figures or texts.count(graphs.NO_DATA) == 2, texts
    assert not re.search(r"\d [kMG]B", texts), texts


def test_the_axis_is_labelled_in_the_unit_of_its_figures(history):
    end = int(time.time()) // 60 * 60
    args = graphs.arguments(graphs.space("alice"), "day", end)
    assert args[args.index("--vertical-label") + 1] == "GiB"
    args = graphs.arguments(graphs.volume_activity("alice"), "day", end)
    assert args[args.index("--vertical-label") + 1] in ("KiB/s", "MiB/s")
    assert args[args.index("--units-exponent") + 1] == "0"  # no "500 m"


def test_each_legend_figure_has_its_own_unit(settings, tmp_path):
    settings.RRD_DIRECTORY = tmp_path / "rrd"
    end = int(time.time()) // 60 * 60
    for timestamp in range(end - 3600, end + 1, 60):
        rrd.record(
            rrd.space_file("alice"), rrd.SPACE, timestamp,
            {"used": 24 * 1024, "inodes": 3, "size": 4 * GIB},
        )  # fmt: skip
    texts = " ".join(graphs.legends(graphs.space("alice"), "hour", end))
    assert "24.0 KiB now" in texts
    assert "4.0 GiB" in texts


def test_a_new_volume_does_not_show_the_history_of_a_deleted_one(settings, tmp_path, people):
    """alice's first volume wrote 64 MiB; deleted and created again, her
    graphs start with the new volume: its 24 KiB, not the old figures."""
    settings.RRD_DIRECTORY = tmp_path / "rrd"
    end = int(time.time()) // 60 * 60
    created = end - 1800
    for timestamp in range(end - 7200, end + 1, 60):
        old = timestamp < created - 600  # the old volume, then a gap, then the new one
        if not old and timestamp < created:
            continue
        used = 64 * (1 << 20) if old else 24 * 1024
        rrd.record(
            rrd.space_file("alice"), rrd.SPACE, timestamp,
            {"used": used, "inodes": 3, "size": 4 * GIB},
        )  # fmt: skip
    volume = Volume.objects.get(account="alice")
    Volume.objects.filter(pk=volume.pk).update(
        created_at=datetime.datetime.fromtimestamp(created, datetime.UTC)
    )
    graph = views.VOLUME_GRAPHS["space"]("alice", since=views._since("alice"))
    assert graph.since == created
    for period in ("hour", "day"):
        # The old volume's 64 MiB is not drawn.
        assert graphs.shown_peaks(graph, period, end)["used"].peak == 24 * 1024
        texts = " ".join(graphs.legends(graph, period, end))
        assert "24.0 KiB now" in texts
        assert "MiB" not in texts
    # Without the volume's creation time (an admin looking at history), all of it.
    texts = " ".join(graphs.legends(graphs.space("alice"), "day", end))
    assert "24.0 KiB now" in texts
    assert graphs.shown_peaks(graphs.space("alice"), "day", end)["used"].peak == 64 * (1 << 20)
    # And through the view, the owner's image is drawn (a PNG) from the new history only.
    response = as_user("alice").get("/stats/volumes/alice/space/day.png")
    assert response.status_code == 200
    png_size(response.content)


def test_the_phone_size_is_narrow_with_larger_text(history, people):
    wide = as_user("alice").get("/stats/volumes/alice/space/day.png")
    phone = as_user("alice").get("/stats/volumes/alice/space/day.png?size=phone")
    assert phone.status_code == 200
    wide_width, _ = png_size(wide.content)
    phone_width, _ = png_size(phone.content)
    # Fits a 375 px screen's card (about 330 px) at its own size.
    assert phone_width <= 330 < wide_width
    assert graphs.SIZES["phone"].font_points > graphs.SIZES["wide"].font_points
    assert wide["ETag"] != phone["ETag"]
    assert as_user("alice").get("/stats/volumes/alice/space/day.png?size=huge").status_code == 404
