"""A hostile volume against the portal: 200,000 top-level entries with
long names full of control characters and bytes that are not UTF-8.

Prints the size and time of fetch_backups.py's report on it, and the size
and server-side time of the owner's dashboard showing the stored result.
Targets (issue 11): report under 64 KiB; dashboard under 200 KiB, rendered
in under 100 ms.

    sudo .venv/bin/python bench/bench_hostile_volume.py [ENTRIES]

A private wrapper installation, backup account and volume directory (the
scan reads a plain directory as it reads a mount point); a throwaway
database. All are removed afterwards.
"""

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
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from backup.discovery import scans  # noqa: E402
from backup.privileged import commands  # noqa: E402
from backup.volumes.models import Volume  # noqa: E402
from support import backup_tools, wrapper_install  # noqa: E402

ENTRIES = 200_000
REPEAT = 15
REPORT_TARGET = 64 * 1024
PAGE_TARGET = 200 * 1024
RENDER_TARGET_MS = 100


def hostile_name(index):
    head = b"\n\x1b[2J\x07\xff\xfe" + b"%07d" % index
    return head + b"\x1b\x01" * ((200 - len(head)) // 2)


def fill(volume, count):
    root = os.fsencode(volume)
    for index in range(count):
        path = root + b"/" + hostile_name(index)
        if index % 10 == 0:
            os.mkdir(path)
        else:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def main():
    if os.geteuid() != 0:
        sys.exit("run as root: the benchmark drives the real wrappers")
    count = int(sys.argv[1]) if len(sys.argv) > 1 else ENTRIES
    setup_test_environment()
    database = Path(tempfile.mkdtemp()) / "bench.sqlite3"
    settings.DATABASES["default"]["NAME"] = str(database)
    call_command("migrate", verbosity=0)
    install = wrapper_install.create()
    settings.WRAPPERS_PATH = install.path
    settings.DIRECTORIES_ROOT = install.settings["DIRECTORIES_ROOT"]
    try:
        with backup_tools.backup_volume(install) as (name, volume):
            print(f"building the volume ({count:,} top-level entries, 200-byte names)...")
            fill(volume, count)
            backup_tools.give_to(volume, name)
            start = time.perf_counter()
            result = install.run("fetch_backups.py", name)
            scan_seconds = time.perf_counter() - start
            if result.returncode != 0:
                sys.exit(f"fetch_backups.py failed: {result.stderr.strip()}")
            report_bytes = len(result.stdout.encode())

            owner = get_user_model().objects.create(username=name)
            record = Volume.objects.create(owner=owner, account=name, size_gib=1)
            scan = scans.store(record, commands.fetch_backups(name))
            client = Client(REMOTE_USER=name)
            client.get("/")  # the volume's state is cached from here on
            durations = []
            for _ in range(REPEAT):
                start = time.perf_counter()
                response = client.get("/")
                durations.append((time.perf_counter() - start) * 1000)
            page_bytes = len(response.content)
    finally:
        wrapper_install.destroy(install)
        database.unlink(missing_ok=True)
        database.parent.rmdir()
    render_ms = statistics.median(durations)
    rows = [
        ("fetch_backups.py report", f"{report_bytes / 1024:.1f} KiB", report_bytes < REPORT_TARGET),
        ("fetch_backups.py time", f"{scan_seconds:.2f} s", None),
        ("dashboard page", f"{page_bytes / 1024:.1f} KiB", page_bytes < PAGE_TARGET),
        ("dashboard render (median)", f"{render_ms:.1f} ms", render_ms < RENDER_TARGET_MS),
    ]
    print(
        f"found {scan.source_count} sources, {scan.unrecognised_count:,} other entries "
        f"({len(scan.unrecognised)} listed); truncated: {scan.truncated}"
    )
    for label, figure, met in rows:
        verdict = "" if met is None else ("target met" if met else "target NOT met")
        print(f"  {label:<28} {figure:>12}  {verdict}")


if __name__ == "__main__":
    main()
