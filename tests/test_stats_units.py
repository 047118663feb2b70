"""The pieces of backup.stats without volumes: RRD files (create, update,
missing and corrupt ones), /proc/diskstats parsing, and the pool projection
on a constructed history."""

import os
import time
from pathlib import Path

import pytest
import rrdtool
from django.core.management import CommandError, call_command
from django.template import Context, Template
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import translation

from backup.core import sizes
from backup.stats import collect, diskstats, projection, rrd

GIB = 1 << 30
DAY = 86400


@pytest.fixture
def rrd_dir(settings, tmp_path):
    settings.RRD_DIRECTORY = tmp_path / "rrd"
    return settings.RRD_DIRECTORY


def last_values(path):
    return rrdtool.lastupdate(str(path))["ds"]


# --- RRD files ------------------------------------------------------------------


def test_a_missing_file_is_created_with_every_archive(rrd_dir):
    path = rrd.space_file("alice")
    now = int(time.time())
    assert rrd.record(path, rrd.SPACE, now, {"used": 5, "inodes": 2, "size": 10}) == rrd.CREATED
    assert last_values(path) == {"used": 5, "inodes": 2, "size": 10}
    info = rrdtool.info(str(path))
    assert info["step"] == 60
    rows = sorted((info[f"rra[{i}].pdp_per_row"], info[f"rra[{i}].rows"]) for i in range(4))
    assert rows == [(1, 1500), (30, 800), (120, 800), (1440, 800)]
    assert rrd.record(path, rrd.SPACE, now + 60, {"used": 6, "inodes": 2, "size": 10}) == (
        rrd.UPDATED
    )
    assert last_values(path)["used"] == 6


def test_unknown_values_are_recorded_as_gaps(rrd_dir):
    path = rrd.space_file("alice")
    rrd.record(path, rrd.SPACE, int(time.time()), {"used": None, "inodes": None, "size": 10})
    assert last_values(path) == {"used": None, "inodes": None, "size": 10}


@pytest.mark.parametrize(
    "content", [b"", b"not an rrd at all" * 100, b"RRD\x000003" + b"\x00" * 64]
)
def test_a_corrupt_file_is_kept_aside_and_recreated(rrd_dir, content):
    path = rrd.space_file("alice")
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    now = int(time.time())
    assert rrd.record(path, rrd.SPACE, now, {"used": 7, "inodes": 1, "size": 10}) == rrd.RECREATED
    assert last_values(path)["used"] == 7
    assert path.with_name("alice.rrd.corrupt").read_bytes() == content


def test_a_file_with_another_layout_is_recreated(rrd_dir):
    path = rrd.space_file("alice")
    rrd.create(path, rrd.POOL, int(time.time()) - 100)
    assert rrd.record(path, rrd.SPACE, int(time.time()), {"used": 1, "size": 2}) == rrd.RECREATED
    assert rrd.fits(path, rrd.SPACE)


def test_a_refused_update_of_a_valid_file_is_an_error_not_a_recreation(rrd_dir):
    path = rrd.space_file("alice")
    now = int(time.time())
    rrd.record(path, rrd.SPACE, now, {"used": 1, "inodes": 1, "size": 2})
    with pytest.raises(rrd.RecordError, match="minimum one second step"):
        rrd.record(path, rrd.SPACE, now, {"used": 3, "inodes": 1, "size": 2})
    assert last_values(path)["used"] == 1
    assert not path.with_name("alice.rrd.corrupt").exists()


@pytest.mark.parametrize("name", ["../etc", "a:b", "-rf", "Alice", "", "a" * 33, "a/b"])
def test_names_that_are_not_accounts_never_become_paths(rrd_dir, name):
    with pytest.raises(ValueError, match="not an account name"):
        rrd.space_file(name)


# --- /proc/diskstats --------------------------------------------------------------

DISKSTATS = """\
 254       0 vda 69054 14139 4819338 32127 97092 42263 5338496 25112 3 14616 59920 0 0 0 0
 254       1 vda1 100 0 800 10 200 0 1600 20 0 30 30
   7       3 loop3 175 0 11240 27 303 984 435968 130 1 92 236 10 0 10485800 0 129 78
 253       0 dm-0 5 0 40 1 6 0 48 2 0 3 3 0 0 0 0 0 0
 bad line
"""


def test_diskstats_sectors_are_512_bytes_and_times_milliseconds():
    devices = diskstats.parse(DISKSTATS)
    assert set(devices) == {(254, 0), (254, 1), (7, 3), (253, 0)}
    name, counters = devices[(7, 3)]
    assert name == "loop3"
    assert counters.rrd_values() == {
        "read": 11240 * 512,
        "written": 435968 * 512,
        "ios": 175 + 303,
        "io_ms": 27 + 130,
        "queue_ms": 236,
        "inflight": 1,
    }


def test_server_total_adds_up_only_the_physical_disks():
    devices = diskstats.parse(DISKSTATS)
    total = diskstats.server_total(devices, {"vda"})
    assert total.rrd_values()["written"] == 5338496 * 512
    assert total.in_flight == 3
    assert diskstats.server_total(devices, set()).rrd_values()["read"] == 0


def test_physical_disks_leave_out_virtual_devices(tmp_path):
    devices = tmp_path / "devices"
    for target in ("pci0000:00/virtio1/block/vda", "virtual/block/loop0", "virtual/block/dm-0"):
        (devices / target).mkdir(parents=True)
    block = tmp_path / "block"
    block.mkdir()
    for target in ("pci0000:00/virtio1/block/vda", "virtual/block/loop0", "virtual/block/dm-0"):
        os.symlink(devices / target, block / target.rsplit("/", 1)[-1])
    assert diskstats.physical_disks(block) == {"vda"}


def test_this_machine_has_a_disk_to_count():
    devices = diskstats.read()
    disks = diskstats.physical_disks()
    assert disks, "no physical disk under /sys/block"
    assert {name for name, _ in devices.values()} >= disks


# --- The projection -----------------------------------------------------------


def test_projection_of_a_straight_line():
    start = 1_700_000_000
    points = [(start + hour * 3600, 40 * GIB + hour * GIB / 24) for hour in range(48)]
    result = projection.project(points, size=100 * GIB)
    assert result.enough_history
    assert result.growth_per_day == pytest.approx(GIB)
    # 40 GiB + 47/24 GiB used now, 1 GiB a day: (60 - 47/24) days left.
    assert result.days_left == pytest.approx(60 - 47 / 24)
    assert result.rounded_days == 58


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        ([], {"enough_history": False}),
        ([(0, 1), (600, 2)], {"enough_history": False}),
        ([(0, 5 * GIB), (7200, 4 * GIB)], {"enough_history": True, "days_left": None}),
        ([(0, 5 * GIB), (7200, 5 * GIB)], {"enough_history": True, "days_left": None}),
        ([(0, 9 * GIB), (7200, 10 * GIB)], {"enough_history": True, "full": True}),
    ],
)
def test_projection_without_growth_or_history(points, expected):
    result = projection.project(points, size=10 * GIB)
    for field, value in expected.items():
        assert getattr(result, field) == value


def fill_pool_history(days, size, used_at, end):
    """Pool figures every five minutes, as update_df_stats records them."""
    path = rrd.pool_file()
    for timestamp in range(end - days * DAY, end + 1, 300):
        used = used_at(timestamp)
        values = {"size": size, "allocated": size // 2, "used": used, "free": size - used}
        rrd.record(path, rrd.POOL, timestamp, values)
    return path


def test_pool_projection_from_a_recorded_history(rrd_dir, settings):
    settings.POOL_GROWTH_WINDOW_DAYS = 7
    end = int(time.time()) // 300 * 300
    start = end - 2 * DAY
    fill_pool_history(2, 100 * GIB, lambda t: 40 * GIB + (t - start) * GIB // DAY, end)
    # 42 GiB used now, growing 1 GiB a day: 58 days to 100 GiB.
    result = projection.pool_projection(now=end)
    assert result.growth_per_day == pytest.approx(GIB, rel=0.01)
    assert result.rounded_days == 58
    # What the admin page passes: the pool's size and use right now.
    assert projection.pool_projection(size=100 * GIB, used=90 * GIB, now=end).rounded_days == 10


def test_pool_projection_without_a_file(rrd_dir):
    assert not projection.pool_projection().enough_history


class FakePool:
    def __init__(self, size, used):
        self.size_bytes, self.used_bytes = size, used


@pytest.mark.parametrize(
    ("used_gib", "warning_days", "text", "warned"),
    [
        (42, 30, "the pool is full in about 58 days", False),
        (42, 60, "the pool is full in about 58 days", True),
        (99.5, 30, "the pool is full in less than a day", True),
        (100, 30, "The pool is full.", True),
    ],
)
def test_admin_page_shows_the_projection_and_warns(
    rrd_dir, settings, used_gib, warning_days, text, warned
):
    settings.POOL_FULL_WARNING_DAYS = warning_days
    end = int(time.time()) // 300 * 300
    start = end - 2 * DAY
    fill_pool_history(2, 100 * GIB, lambda t: 40 * GIB + (t - start) * GIB // DAY, end)
    request = RequestFactory().get("/staff/", {"period": "week"})
    html = render_to_string(
        "stats/pool_graphs.html",
        {"pool": FakePool(100 * GIB, int(used_gib * GIB)), "rows": []},
        request=request,
    )
    assert text in " ".join(html.split())
    assert ("alert-warning" in html or "alert-danger" in html) == warned
    assert 'src="/stats/pool/week.png"' in html


# --- The commands, before any privileged call -----------------------------------


@pytest.mark.parametrize("command", ["update_df_stats", "rrd_waittime"])
def test_a_run_still_going_makes_the_next_one_skip(rrd_dir, command):
    with collect.exclusive(command), pytest.raises(CommandError, match="still running"):
        call_command(command)


@pytest.mark.parametrize("command", ["update_df_stats", "rrd_waittime"])
def test_an_unusable_rrd_directory_is_a_clear_error(settings, tmp_path, command):
    (tmp_path / "file").write_text("")
    settings.RRD_DIRECTORY = tmp_path / "file" / "rrd"
    with pytest.raises(CommandError, match="RRD directory can't be used"):
        call_command(command)


# --- Sizes in binary units --------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (1023, "1023 bytes"),
        (1024, "1 KiB"),
        (24 * 1024, "24 KiB"),
        (int(3.9 * GIB), "3.9 GiB"),
        (4 * GIB, "4 GiB"),
        (GIB - 1, "1 GiB"),  # rounds up into the next unit, never "1024 MiB"
        (1023 * (1 << 20) + 900 * 1024, "1023.9 MiB"),
        (300 * GIB, "300 GiB"),
        (5 * (1 << 40), "5 TiB"),
        (-5 * (1 << 20), "-5 MiB"),
        (None, "\N{EN DASH}"),
    ],
)
def test_sizes_are_in_binary_units(size, text):
    assert sizes.binary_size(size) == text.replace(" ", "\xa0")


def test_sizes_follow_the_language(settings):
    settings.USE_I18N = True
    with translation.override("fi"):
        assert sizes.binary_size(int(3.94 * GIB)) == "3,9\xa0GiB"


def test_the_template_filter_is_the_same_function():
    template = Template("{% load sizes %}{{ size|binary_size }}")
    assert template.render(Context({"size": 24 * 1024})) == "24\xa0KiB"


@pytest.mark.parametrize("value", ["", "many", [1]])
def test_the_template_filter_shows_what_is_no_number_as_unknown(value):
    # A missing field renders as "": a page shows a dash, never a server error.
    template = Template("{% load sizes %}{{ size|binary_size }}")
    assert template.render(Context({"size": value})) == "\N{EN DASH}"
    assert template.render(Context({})) == "\N{EN DASH}"


def test_no_page_or_message_formats_sizes_another_way():
    """One unit system: Django's filesizeformat prints decimal-looking "GB"
    for binary figures, so the same volume read "3.9 GB" on one page and
    "4.0 GB" on another. Every size goes through binary_size."""
    repo = Path(__file__).resolve().parent.parent
    sources = [*(repo / "backup").rglob("*.py"), *(repo / "templates").rglob("*.*")]
    offenders = [
        str(path.relative_to(repo))
        for path in sources
        if path.suffix in (".py", ".html", ".txt")
        and path != repo / "backup" / "core" / "sizes.py"
        and "filesizeformat" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
