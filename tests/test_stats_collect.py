"""The collectors on real loop-file volumes (wrappers running as root):
update_df_stats records what statvfs sees, rrd_waittime sees a volume's
writes, a corrupt RRD is recreated without stopping the others, the cron
command line works, and the graphs reach the dashboard and admin page."""

import os
import pwd
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
import rrdtool
from django.core.management import call_command
from django.db import connection
from django.test import Client

from backup.operations.models import Operation
from backup.privileged import client, commands
from backup.stats import collect, diskstats, rrd
from backup.volumes import requests
from backup.volumes.models import Volume
from support.waiting import next_second

pytestmark = [pytest.mark.root, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parent.parent
MIB = 1 << 20
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def rrd_dir(settings, tmp_path):
    settings.RRD_DIRECTORY = tmp_path / "rrd"
    return settings.RRD_DIRECTORY


def new_volume(make_employee, **fields):
    employee = make_employee(**fields)
    operation = requests.request_create(employee, employee)
    operation.refresh_from_db()
    assert operation.state == Operation.State.SUCCEEDED, operation.detail
    return employee, Volume.objects.get(owner=employee)


@pytest.fixture
def two_volumes(portal, make_employee):
    return [new_volume(make_employee)[1] for _ in range(2)]


def mount_point(portal, account):
    return Path(portal.settings["DIRECTORIES_ROOT"]) / account


def write_as(account, path, mebibytes):
    """Write a file as the volume's owner and flush it to the device."""
    entry = pwd.getpwnam(account)
    subprocess.run(
        ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups",
         "dd", "if=/dev/urandom", f"of={path}", "bs=1M", f"count={mebibytes}", "conv=fsync",
         "status=none"],
        check=True,
    )  # fmt: skip
    assert path.stat().st_uid == entry.pw_uid


def last(path):
    return rrdtool.lastupdate(str(path))["ds"]


def calls_made(function, *args, **kwargs):
    before = client.Counter.calls
    result = function(*args, **kwargs)
    return result, client.Counter.calls - before


def test_space_of_every_mounted_volume_matches_statvfs(portal, rrd_dir, two_volumes):
    first, second = two_volumes
    write_as(first.account, mount_point(portal, first.account) / "data", 3)
    os.sync()  # btrfs (the default) counts the space once its transaction commits
    now = int(time.time())
    report, calls = calls_made(collect.collect_space, now=now)
    assert calls == 2, "the inventory and the pool, whatever the number of volumes"
    assert not report.failed, report.problems
    for volume in two_volumes:
        info = os.statvfs(mount_point(portal, volume.account))
        assert last(rrd.space_file(volume.account)) == {
            "used": (info.f_blocks - info.f_bavail) * info.f_frsize,
            "inodes": info.f_files - info.f_ffree,
            "size": volume.size_gib << 30,
        }
    assert (
        last(rrd.space_file(first.account))["used"]
        >= last(rrd.space_file(second.account))["used"] + 3 * MIB
    )
    pool = commands.pool()
    recorded = last(rrd.pool_file())
    assert recorded["size"] == pool["size_bytes"]
    assert recorded["allocated"] == pool["allocated_bytes"]
    assert recorded["used"] >= 3 * MIB

    # An unmounted volume leaves a gap in its used space, not a wrong figure.
    portal.run("umount.py", second.account)
    report = collect.collect_space(now=now + 60)
    assert not report.failed, report.problems
    assert last(rrd.space_file(second.account)) == {
        "used": None,
        "inodes": None,
        "size": second.size_gib << 30,
    }
    assert last(rrd.space_file(first.account))["used"] is not None


def test_a_volumes_io_counters_move_when_its_owner_writes(portal, rrd_dir, make_employee):
    _, volume = new_volume(make_employee)
    now = int(time.time()) // 60 * 60
    path = rrd.io_file(volume.account)
    for step in range(2):
        report, calls = calls_made(collect.collect_io, now=now + 60 * step)
        assert calls == 1, "dmsetup.py only"
        assert not report.failed, report.problems
    before = last(path)
    device = next(d for d in commands.block_devices() if d["user"] == volume.account)
    kernel_before = diskstats.read()[(device["major"], device["minor"])][1]
    # Sectors are 512 bytes whatever the device's block size (a 4096 would be
    # 8 times off). The filesystem may still be writing back its creation
    # between the collection and this read, so allow a little more.
    recorded = kernel_before.written_sectors * 512
    assert recorded - 16 * MIB <= before["written"] <= recorded

    write_as(volume.account, mount_point(portal, volume.account) / "data", 8)
    collect.collect_io(now=now + 120)
    after = last(path)
    assert after["written"] - before["written"] >= 8 * MIB
    assert after["ios"] > before["ios"]
    # The minute of the write, as the graphs will draw it (bytes per second).
    times, values = rrd.fetch(path, now + 60, now + 120)
    written = dict(zip(times, values["written"], strict=True))[now + 120]
    assert written * 60 == pytest.approx(after["written"] - before["written"])
    assert last(rrd.server_io_file())["written"] > 0


def test_a_corrupt_rrd_is_recreated_and_the_others_still_collected(portal, rrd_dir, two_volumes):
    first, second = two_volumes
    call_command("update_df_stats")
    broken = rrd.space_file(first.account)
    broken.write_bytes(b"\0garbage" * 1000)
    next_second()  # the next update needs a later second
    errors = StringIO()
    call_command("update_df_stats", stderr=errors)
    assert f"{broken} was unreadable; recreated it" in errors.getvalue()
    assert broken.with_name(broken.name + ".corrupt").exists()
    for volume in two_volumes:
        used = last(rrd.space_file(volume.account))["used"]
        info = os.statvfs(mount_point(portal, volume.account))
        assert used == (info.f_blocks - info.f_bavail) * info.f_frsize
    assert rrdtool.last(str(rrd.space_file(second.account))) == rrdtool.last(str(broken))


def test_the_cron_lines_run_quietly_and_record(portal, rrd_dir, two_volumes, tmp_path):
    """What the crontab runs: `cd <checkout>; .venv/bin/python manage.py ...`."""
    (tmp_path / "cron_settings.py").write_text(
        "from backup.settings.test import *  # noqa\n"
        f"WRAPPERS_PATH = {str(portal.path)!r}\n"
        f"RRD_DIRECTORY = {str(rrd_dir)!r}\n"
        # This test's database: update_df_stats' space alerts read the volumes.
        f"DATABASES['default']['NAME'] = {connection.settings_dict['NAME']!r}\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{tmp_path}:{REPO / 'tests'}",
        "DJANGO_SETTINGS_MODULE": "cron_settings",
    }
    for command in ("rrd_waittime", "update_df_stats"):
        result = subprocess.run(
            [sys.executable, "manage.py", command],
            cwd=REPO, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    for volume in two_volumes:
        assert rrd.space_file(volume.account).exists()
        assert rrd.io_file(volume.account).exists()
    assert rrd.pool_file().exists()
    assert rrd.server_io_file().exists()


def test_graphs_reach_the_dashboard_and_the_admin_page(portal, rrd_dir, make_employee):
    owner, volume = new_volume(make_employee)
    other, _ = new_volume(make_employee)
    admin = make_employee("adm", is_staff=True)
    dashboard = Client(REMOTE_USER=owner.username).get("/?period=day")
    assert b"No history yet" in dashboard.content

    now = int(time.time())
    collect.collect_space(now=now - 60)
    collect.collect_io(now=now - 60)
    collect.collect_space(now=now)
    collect.collect_io(now=now)

    dashboard = Client(REMOTE_USER=owner.username).get("/?period=day")
    html = dashboard.content.decode()
    space_url = f"/stats/volumes/{volume.account}/space/day.png"
    assert f'src="{space_url}"' in html
    image = Client(REMOTE_USER=owner.username).get(space_url)
    assert image.status_code == 200
    assert image.content.startswith(PNG_SIGNATURE)
    # The server's disk activity is for admins (their overview), not the owner.
    assert "/stats/server/" not in html
    admin_page = Client(REMOTE_USER=admin.username).get("/staff/?period=day").content.decode()
    for url in ("/stats/server/io/day.png", "/stats/server/wait/day.png"):
        assert f'src="{url}"' in admin_page
        image = Client(REMOTE_USER=admin.username).get(url)
        assert image.status_code == 200, url
        assert image.content.startswith(PNG_SIGNATURE)

    assert Client(REMOTE_USER=other.username).get(space_url).status_code == 404
    assert Client(REMOTE_USER=admin.username).get(space_url).status_code == 200

    overview = Client(REMOTE_USER=admin.username).get("/staff/?show=all")
    assert b'src="/stats/pool/hour.png"' in overview.content
    assert b"Not enough history yet" in overview.content
    assert f'<option value="{volume.account}">'.encode() in overview.content
