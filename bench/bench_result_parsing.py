"""What parsing a wrapper's result into its typed shape costs, beside the
json.loads the client did before it (backup/privileged/results.py).

    .venv/bin/python bench/bench_result_parsing.py [VOLUMES]

The largest results the portal parses are the all-volumes ones: the
snapshot listing (every volume's retained snapshots, about 380 each in the
steady state), the inventory and the backup scan of every volume (up to 100
sources each). Built here in memory for VOLUMES volumes (default 1,000) in
the shapes the real wrappers print, each is timed through json.loads alone
and through json.loads plus the parser; the figures are printed, no target
is asserted.
"""

import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backup.settings.test")

import django  # noqa: E402

django.setup()

from backup.privileged import results  # noqa: E402

WHEN = "2026-11-30T21:00:00Z"
GIB = 1 << 30


def snapshot_listing(volumes):
    # One run snapshots every volume at the same moment: each volume lists
    # the same 380 names and times (the parser's caches count on that).
    start = datetime(2026, 11, 14, tzinfo=UTC)
    moments = [start + timedelta(minutes=15 * number) for number in range(380)]
    entries = [
        {"name": moment.strftime("@GMT-%Y.%m.%d-%H.%M.%S"),
         "taken_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
         "protected_until": (moment + timedelta(days=14)).strftime("%Y-%m-%dT%H:%M:%SZ"),
         "protected": True, "exclusive_bytes": 5 << 20}
        for moment in moments
    ]  # fmt: skip
    listing = {"supported": True, "snapshots": entries, "snapshot_bytes": GIB,
               "used_bytes": GIB, "size_bytes": 4 * GIB}  # fmt: skip
    return {"volumes": {f"user{number}": listing for number in range(volumes)}}


def inventory(volumes):
    return {"backend": "loopfile", "volumes": [
        {"user": f"user{number}", "size_bytes": 4 * GIB, "device": "/dev/loop9",
         "mount_point": f"/srv/userbackup/user{number}", "mounted": True, "filesystem": "btrfs"}
        for number in range(volumes)
    ]}  # fmt: skip


def all_backups(volumes):
    source = {"machine": "laptop", "format": "restic", "path": "restic/laptop",
              "last_backup": WHEN, "backups": 40, "state": "complete", "size_bytes": GIB,
              "size_estimated": False, "evidence": None, "in_progress_since": None}  # fmt: skip
    return {"volumes": [
        {"user": f"user{number}", "scanned_at": WHEN, "truncated": False,
         "sources": [source] * 10, "more_sources": 0, "unrecognised": [],
         "more_unrecognised": 0, "mounted": True}
        for number in range(volumes)
    ]}  # fmt: skip


def best_of(runs, work):
    times = []
    for _ in range(runs):
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return min(times), statistics.median(times)


def main():
    volumes = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    cases = [
        ("snapshot-list.py", snapshot_listing(volumes), results.snapshot_listings),
        ("lvdisplay.py", inventory(volumes), results.inventory),
        ("fetch_backups.py", all_backups(volumes), results.all_backup_reports),
    ]
    print(f"{volumes} volumes; best and median of 5 runs, CPU seconds")
    print(f"{'wrapper':<20}{'JSON':>10}{'json.loads':>14}{'+ parse':>14}{'parse share':>13}")
    for wrapper, result, parser in cases:
        text = json.dumps(result)
        loads, _ = best_of(5, lambda text=text: json.loads(text))
        both, median = best_of(
            5,
            lambda text=text, parser=parser, wrapper=wrapper: results.parse(
                wrapper, json.loads(text), parser
            ),
        )
        size = f"{len(text) / 1e6:.1f} MB"
        print(
            f"{wrapper:<20}{size:>10}{loads:>14.3f}{both:>14.3f}"
            f"{(both - loads) / both:>12.0%} (median {median:.3f})"
        )


if __name__ == "__main__":
    main()
