"""The admin view with every volume's backups stored (the "Last backup"
column and the ?backups= filter), and the dashboard with its "Your backups"
section, with 1, 100 and 1,000 volumes; privileged calls per request.

    sudo .venv/bin/python bench/bench_backup_column.py

As bench_views.py (real wrappers, a private installation), plus a stored
scan of three computers per volume, a third of them stale. Targets: the
admin view within two privileged calls and under 300 ms for 1,000 volumes,
filtered or not; the dashboard within one.
"""

import datetime
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_views
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.test.utils import setup_test_environment
from django.utils import timezone

from backup.discovery.models import BackupScan
from backup.discovery.services import store
from backup.volumes import services
from backup.volumes.models import Volume
from support import wrapper_install

DAY = datetime.timedelta(days=1)


def wire(when):
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def scan_everything():
    """Three computers on every volume without any yet; every third stale."""
    now = timezone.now()
    for index, volume in enumerate(Volume.objects.exclude(backup_scan__source_count__gt=0)):
        age = 12 * DAY if index % 3 == 0 else DAY
        sources = [
            {
                "machine": f"pc-{volume.account}-{n}",
                "format": fmt,
                "path": f"{fmt}-{n}",
                "last_backup": wire(now - age - n * datetime.timedelta(hours=1)),
                "backups": 10,
                "state": "complete",
                "size_bytes": None,
            }
            for n, fmt in enumerate(("time_machine", "restic", "windows_file_history"))
        ]
        store(
            volume,
            {
                "user": volume.account,
                "scanned_at": wire(now),
                "sources": sources,
                "unrecognised": [{"path": "Photos", "modified": wire(now)}],
            },
        )


def main():
    setup_test_environment()
    database = Path(tempfile.mkdtemp()) / "bench.sqlite3"
    settings.DATABASES["default"]["NAME"] = str(database)
    call_command("migrate", verbosity=0)
    install = wrapper_install.create()
    install.write_local_settings(LOOPFILE_POOL_SIZE_GIB=2000)
    settings.WRAPPERS_PATH = install.path
    settings.DIRECTORIES_ROOT = install.settings["DIRECTORIES_ROOT"]
    token = install.base.name.rsplit("-", 1)[-1]
    employee_name = f"be{token}"
    try:
        users = get_user_model()
        employee = users.objects.create(username=employee_name)
        users.objects.create(username=f"ba{token}", is_staff=True)
        operation = services.request_create(employee, employee)
        operation.refresh_from_db()
        assert operation.state == "succeeded", operation.detail
        employee_client = Client(REMOTE_USER=employee_name)
        admin_client = Client(REMOTE_USER=f"ba{token}")
        print(
            f"{'volumes':>8} {'dashboard ms':>13} {'calls':>6} {'admin ms':>9}"
            f" {'stale ms':>9} {'calls/request':>14}"
        )
        existing = 1
        for count in bench_views.COUNTS:
            bench_views.add_volumes(install, existing, count)
            existing = count
            scan_everything()
            assert BackupScan.objects.count() == count
            dashboard_ms, dashboard_calls = bench_views.timed(
                employee_client, "/", before_each=cache.clear
            )
            admin_ms, admin_calls = bench_views.timed(admin_client, "/staff/")
            stale_ms, stale_calls = bench_views.timed(admin_client, "/staff/?backups=stale")
            stale = admin_client.get("/staff/?backups=stale").context["rows"]
            assert len(stale) == (count + 2) // 3, (len(stale), count)
            print(
                f"{count:>8} {dashboard_ms:>13.1f} {max(dashboard_calls):>6}"
                f" {admin_ms:>9.1f} {stale_ms:>9.1f} {max(admin_calls + stale_calls):>14}"
            )
        print(f"median of {bench_views.REPEAT} requests; dashboard uncached (its one query)")
    finally:
        for wrapper in ("umount.py", "lvremove.py", "rmdir.py", "deluser.py"):
            install.run(wrapper, employee_name)
        wrapper_install.destroy(install)
        database.unlink(missing_ok=True)
        database.parent.rmdir()


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("run as root: the benchmark drives the real wrappers")
    main()
