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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_views
from django.core.cache import cache, caches
from django.utils import timezone

from backup.discovery.models import BackupScan
from backup.discovery.scans import store
from backup.volumes.models import Volume

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
    with bench_views.benchmark_portal() as (install, employee_client, admin_client):
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
            # The inventory taken anew for each request: the worst case.
            anew = caches["inventory"].clear
            admin_ms, admin_calls = bench_views.timed(admin_client, "/staff/", before_each=anew)
            stale_ms, stale_calls = bench_views.timed(
                admin_client, "/staff/?show=stale", before_each=anew
            )
            stale = admin_client.get("/staff/?show=stale").context["page"].paginator.count
            assert stale == (count + 2) // 3, (stale, count)
            print(
                f"{count:>8} {dashboard_ms:>13.1f} {max(dashboard_calls):>6}"
                f" {admin_ms:>9.1f} {stale_ms:>9.1f} {max(admin_calls + stale_calls):>14}"
            )
        print(f"median of {bench_views.REPEAT} requests; dashboard uncached (its one query)")


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("run as root: the benchmark drives the real wrappers")
    main()
