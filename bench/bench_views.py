"""Server-side time of the dashboard and the admin view, and the privileged
calls and database queries each makes, with 1, 100 and 1,000 volumes.

    sudo .venv/bin/python bench/bench_views.py

Real wrappers in a private installation (loop-file backend). The volume the
dashboard shows is created for real (account, image, ext4, mount); the
others are sparse images in the pool with their portal records, which is
what the inventory reads. Targets: the dashboard makes at most one
privileged call (none when cached); the admin view at most two whatever the
number of volumes, rendering 1,000 volumes in under 300 ms; the cached
dashboard's queries are as many whatever the number of volumes (the test
pins them: tests/test_read_only_pages.py).
"""

import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backup.settings.test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.cache import cache, caches  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

from backup.privileged.client import Counter  # noqa: E402
from backup.volumes import requests  # noqa: E402
from backup.volumes.models import Volume  # noqa: E402
from support import wrapper_install  # noqa: E402

COUNTS = (1, 100, 1000)
REPEAT = 15


def timed(client, url, before_each=None):
    """(median ms, privileged calls per request, most database queries of a
    request) over REPEAT requests."""
    durations, calls, queries = [], [], []
    for _ in range(REPEAT):
        if before_each:
            before_each()
        before = Counter.calls
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url)
            durations.append((time.perf_counter() - start) * 1000)
        calls.append(Counter.calls - before)
        queries.append(len(captured))
        assert response.status_code == 200, response.status_code
    return statistics.median(durations), calls, max(queries)


def add_volumes(install, start, stop):
    """Sparse images and portal records for volumes start..stop-1."""
    users = get_user_model()
    pool = Path(install.settings["LOOPFILE_POOL"])
    made = users.objects.bulk_create(users(username=f"bench{n:04d}") for n in range(start, stop))
    for user in made:
        with open(pool / f"{user.username}.img", "wb") as image:
            image.truncate(1024**3)
    Volume.objects.bulk_create(
        Volume(owner=user, account=user.username, size_gib=1, filesystem="ext4") for user in made
    )


@contextlib.contextmanager
def benchmark_portal():
    """A throwaway database, a private wrapper installation, one real volume
    for the dashboard's employee; yields (install, employee and admin clients)."""
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
        operation = requests.request_create(employee, employee)
        operation.refresh_from_db()
        assert operation.state == "succeeded", operation.detail
        yield install, Client(REMOTE_USER=employee_name), Client(REMOTE_USER=f"ba{token}")
    finally:
        for wrapper in ("umount.py", "lvremove.py", "rmdir.py", "deluser.py"):
            install.run(wrapper, employee_name)
        wrapper_install.destroy(install)
        database.unlink(missing_ok=True)
        database.parent.rmdir()


def main():
    if os.geteuid() != 0:
        sys.exit("run as root: the benchmark drives the real wrappers")
    with benchmark_portal() as (install, employee_client, admin_client):
        print(
            f"{'volumes':>8} {'dashboard ms':>13} {'calls (1st, then)':>18}"
            f" {'queries (cached)':>16} {'admin ms':>9} {'calls/request':>14}"
        )
        existing = 1
        for count in COUNTS:
            add_volumes(install, existing, count)
            existing = count
            uncached_ms, uncached_calls, _queries = timed(
                employee_client, "/", before_each=cache.clear
            )
            employee_client.get("/")
            cached_ms, cached_calls, cached_queries = timed(employee_client, "/")
            # The inventory taken anew for each request (the page reuses one
            # for STAFF_INVENTORY_MAX_AGE seconds): the page's worst case.
            admin_ms, admin_calls, _queries = timed(
                admin_client, "/staff/?show=all", before_each=caches["inventory"].clear
            )
            shown = admin_client.get("/staff/?show=all").context["page"].paginator.count
            assert shown == count, (shown, count)
            print(
                f"{count:>8} {uncached_ms:>7.1f} / {cached_ms:>4.1f}"
                f" {max(uncached_calls):>9} / {max(cached_calls)}"
                f" {cached_queries:>16} {admin_ms:>9.1f} {max(admin_calls):>14}"
            )
        print(
            "dashboard ms: uncached (one privileged query) / cached (none);"
            f" median of {REPEAT} requests"
        )


if __name__ == "__main__":
    main()
