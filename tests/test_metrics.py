"""/metrics: scraped through Django's test client, read back with the
Prometheus client's own text parser, and compared with the volumes, scans,
operations and RRD figures each test stores. Who may scrape: configured
networks or the bearer token, and nobody else. No wrapper can run here: a
scrape must need none."""

import datetime
import math
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import checks
from django.test import Client
from django.utils import timezone
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from backup.discovery import scans
from backup.discovery.models import BackupPreference
from backup.metrics.checks import metrics_settings
from backup.operations.models import Operation
from backup.privileged.client import Counter
from backup.privileged.fields import MAX_NAME_CHARS
from backup.stats import rrd
from support.backup_reports import wrapper_report

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parent.parent
GIB = 1024**3
DAY = datetime.timedelta(days=1)
HOUR = 3600
TOKEN = "t0k3n-" + "x" * 40
HOSTILE_NAME = 'pc"} 1\nbackup_pool_size_bytes 9\\ ääkkönen \u202e'


def wire(when):
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(autouse=True)
def stored_only(settings, tmp_path):
    """No wrapper installation (a call would fail) and a private RRD directory."""
    settings.WRAPPERS_PATH = tmp_path / "no-wrappers"
    settings.RRD_DIRECTORY = tmp_path / "rrd"
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.1/32", "::1/128"]
    settings.METRICS_TOKEN = ""


@pytest.fixture
def volume_of(make_person, make_volume):
    """make(prefix, size_gib) -> the record of an ext4 volume of that size,
    of a person whose name (its account) is prefix and random hex."""

    def make(prefix, size_gib):
        return make_volume(make_person(prefix), size_gib=size_gib, filesystem="ext4")

    return make


def scan(volume, sources, now):
    scans.store(
        volume,
        wrapper_report(
            {
                "user": volume.account,
                "scanned_at": wire(now),
                "sources": [
                    {
                        "machine": machine,
                        "format": fmt,
                        "path": path,
                        "last_backup": wire(when) if when else None,
                        "backups": 3,
                        "state": "complete",
                        "size_bytes": None,
                    }
                    for machine, fmt, path, when in sources
                ],
                "unrecognised": [],
            }
        ),
    )


def record_usage(account, used, now):
    """What the space collector stores: the same use at its last three runs."""
    for ago in (900, 600, 300):
        rrd.record(
            rrd.space_file(account),
            rrd.SPACE,
            int(now) - ago,
            {"used": used, "inodes": 10, "size": 4 * GIB},
        )


def scrape(client=None, **headers):
    client = client or Client(REMOTE_ADDR="127.0.0.1")
    before = Counter.calls
    response = client.get("/metrics", **headers)
    assert Counter.calls == before, "a scrape ran a wrapper"
    assert response.status_code == 200, response.content
    assert response["Cache-Control"].startswith("max-age=0")
    return response


def samples(response):
    """{(sample name, sorted label items): value}, from the real parser."""
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in found, f"{key} appears twice"
            found[key] = sample.value
    return found


def test_volumes_report_their_size_use_backups_and_stale_computers(volume_of):
    now = timezone.now()
    alice = volume_of("alice", 4)
    bob = volume_of("bob", 2)
    carol = volume_of("carol", 1)  # never scanned, never measured
    record_usage(alice.account, 123_456_789, now.timestamp())
    scan(
        alice,
        [
            ("laptop", "time_machine", "laptop.sparsebundle", now - DAY),
            ("desktop", "restic", "restic", now - 9 * DAY),  # stale after the default 7
            ("new-pc", "borg", "borg", None),  # no backup yet: no timestamp
        ],
        now,
    )
    # Bob's own threshold is one day: a two-day-old backup is stale for him.
    BackupPreference.objects.create(user=bob.owner, stale_after_days=1)
    scan(bob, [("phone", "kopia", "kopia", now - 2 * DAY)], now)

    found = samples(scrape())

    def value(name, **labels):
        return found.get((name, tuple(sorted(labels.items()))))

    assert value("backup_volume_size_bytes", volume=alice.account) == 4 * GIB
    assert value("backup_volume_size_bytes", volume=bob.account) == 2 * GIB
    assert value("backup_volume_size_bytes", volume=carol.account) == 1 * GIB
    assert value("backup_volume_used_bytes", volume=alice.account) == 123_456_789
    assert value("backup_volume_used_bytes", volume=bob.account) is None
    assert value("backup_volume_scan_timestamp_seconds", volume=alice.account) == int(
        now.timestamp()
    )
    assert value("backup_volume_stale_computers", volume=alice.account) == 1
    assert value("backup_volume_stale_computers", volume=bob.account) == 1
    assert value("backup_volume_stale_computers", volume=carol.account) is None
    labels = {"volume": alice.account, "format": "time_machine"}
    assert value(
        "backup_volume_last_backup_timestamp_seconds",
        computer="laptop",
        path="laptop.sparsebundle",
        **labels,
    ) == int((now - DAY).timestamp())
    assert value(
        "backup_volume_last_backup_timestamp_seconds",
        volume=alice.account,
        computer="desktop",
        format="restic",
        path="restic",
    ) == int((now - 9 * DAY).timestamp())
    computers = sorted(
        dict(labels)["computer"]
        for name, labels in found
        if name == "backup_volume_last_backup_timestamp_seconds"
    )
    assert computers == ["desktop", "laptop", "phone"]


@pytest.mark.parametrize("volumes", [1, 6])
def test_a_scrape_makes_four_queries_whatever_the_number_of_volumes(
    volume_of, django_assert_num_queries, volumes
):
    now = timezone.now()
    for number in range(volumes):
        volume = volume_of(f"queried{number}", 2)
        scan(volume, [("laptop", "restic", "laptop", now - datetime.timedelta(days=9))], now)
    with django_assert_num_queries(4):
        response = scrape()
    assert len([key for key in samples(response) if key[0] == "backup_volume_size_bytes"]) == (
        volumes
    )


def test_usage_older_than_the_collectors_runs_is_left_out(volume_of):
    now = timezone.now().timestamp()
    dave = volume_of("dave", 4)
    record_usage(dave.account, 5_000, now - 2 * HOUR)
    found = samples(scrape())
    assert ("backup_volume_size_bytes", (("volume", dave.account),)) in found
    assert ("backup_volume_used_bytes", (("volume", dave.account),)) not in found


def test_names_from_a_volume_stay_one_label_value(volume_of):
    """A computer name is whatever the volume's owner wrote: quotes, newlines,
    a fake sample, backslashes and control characters stay inside its label."""
    now = timezone.now()
    erin = volume_of("erin", 1)
    # Two paths longer than the wrapper shows, equal once it has cut them.
    cut = "p" * (MAX_NAME_CHARS - 1) + "\u2026"
    scan(
        erin,
        [
            (HOSTILE_NAME, "restic", "r", now - DAY),
            ("twin", "borg", cut, now - 3 * DAY),
            ("twin", "borg", cut, now - 2 * DAY),
        ],
        now,
    )
    found = samples(scrape())
    backups = {
        dict(labels)["computer"]: (dict(labels)["path"], value)
        for (name, labels), value in found.items()
        if name == "backup_volume_last_backup_timestamp_seconds"
    }
    assert backups[HOSTILE_NAME] == ("r", int((now - DAY).timestamp()))
    # The newer of the two that look alike, once: Prometheus refuses a
    # scrape with one series twice (samples() asserts there is none).
    assert backups["twin"] == (cut, int((now - 2 * DAY).timestamp()))
    assert ("backup_pool_size_bytes", ()) not in found


def test_operations_are_counted_by_kind_with_failures(volume_of, django_user_model):
    volume = volume_of("frank", 1)
    kinds = [
        (Operation.Kind.CREATE, Operation.State.SUCCEEDED),
        (Operation.Kind.ADD_SPACE, Operation.State.SUCCEEDED),
        (Operation.Kind.ADD_SPACE, Operation.State.FAILED),
        (Operation.Kind.ADD_SPACE, Operation.State.FAILED),
        (Operation.Kind.DELETE, Operation.State.FAILED),
        (Operation.Kind.MOUNT, Operation.State.RUNNING),
    ]
    for kind, state in kinds:
        Operation.objects.create(
            kind=kind,
            state=state,
            owner=volume.owner,
            owner_name=volume.account,
            actor=volume.owner,
            actor_name=volume.account,
        )
    found = samples(scrape())
    totals = {
        dict(labels)["kind"]: value
        for (name, labels), value in found.items()
        if name == "backup_operations_total"
    }
    failures = {
        dict(labels)["kind"]: value
        for (name, labels), value in found.items()
        if name == "backup_operation_failures_total"
    }
    expected_totals = dict.fromkeys(Operation.Kind.values, 0)
    expected_failures = dict.fromkeys(Operation.Kind.values, 0)
    for kind, state in kinds:
        expected_totals[kind] += 1
        expected_failures[kind] += state == Operation.State.FAILED
    assert totals == expected_totals
    assert failures == expected_failures
    assert failures["add_space"] == 2


def test_the_pool_reports_size_allocation_use_and_days_to_full():
    now = int(timezone.now().timestamp())
    size, allocated = 1000 * GIB, 600 * GIB
    growth_per_hour = 2 * GIB
    # Six hours of the pool collector's runs, use growing steadily.
    start = now - 6 * HOUR
    for when in range(start, now - 299, 300):
        used = 100 * GIB + growth_per_hour * (when - start) / HOUR
        values = {"size": size, "allocated": allocated, "used": used, "free": size - used}
        rrd.record(rrd.pool_file(), rrd.POOL, when, values)

    found = samples(scrape())
    assert found[("backup_pool_size_bytes", ())] == size
    assert found[("backup_pool_allocated_bytes", ())] == allocated
    used_now = found[("backup_pool_used_bytes", ())]
    assert 100 * GIB + 5 * growth_per_hour <= used_now <= 100 * GIB + 6 * growth_per_hour
    expected_days = (size - used_now) / (growth_per_hour * 24)
    assert found[("backup_pool_days_to_full", ())] == pytest.approx(expected_days, rel=0.02)


def test_a_pool_that_does_not_grow_is_never_full():
    now = int(timezone.now().timestamp())
    for when in range(now - 3 * HOUR, now - 299, 300):
        values = {"size": 10 * GIB, "allocated": 5 * GIB, "used": GIB, "free": 9 * GIB}
        rrd.record(rrd.pool_file(), rrd.POOL, when, values)
    assert samples(scrape())[("backup_pool_days_to_full", ())] == math.inf


def test_a_pool_without_history_has_no_projection():
    now = int(timezone.now().timestamp())
    values = {"size": 10 * GIB, "allocated": 5 * GIB, "used": GIB, "free": 9 * GIB}
    # The collector's first two runs: figures, but too short a history.
    for when in (now - 600, now - 300):
        rrd.record(rrd.pool_file(), rrd.POOL, when, values)
    found = samples(scrape())
    assert found[("backup_pool_used_bytes", ())] == GIB
    assert ("backup_pool_days_to_full", ()) not in found


def test_openmetrics_is_served_to_a_scraper_that_asks_for_it(volume_of):
    volume_of("gina", 3)
    response = scrape(HTTP_ACCEPT="application/openmetrics-text; version=1.0.0")
    assert response["Content-Type"].startswith("application/openmetrics-text")
    families = {f.name: f for f in openmetrics_families(response.content.decode())}
    assert families["backup_volume_size_bytes"].samples[0].value == 3 * GIB
    assert families["backup_operations"].type == "counter"


# --- Who may scrape -------------------------------------------------------------


def assert_refused(response):
    assert response.status_code == 403
    # Nothing but the refusal: no figure, no name, no hint at the way in.
    assert response.content == b"Forbidden\n"
    assert response["Content-Type"].startswith("text/plain")


def test_a_foreign_address_is_refused(volume_of, caplog):
    volume_of("hank", 1)
    assert_refused(Client(REMOTE_ADDR="192.0.2.7").get("/metrics"))
    # A header naming an allowed address changes nothing: only the web
    # server's REMOTE_ADDR counts.
    spoofed = Client(REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert_refused(spoofed.get("/metrics"))
    assert "metrics refused to 192.0.2.7" in caplog.text


def test_a_configured_network_is_served(settings, volume_of):
    settings.METRICS_ALLOWED_NETWORKS = ["192.0.2.0/24", "2001:db8::/32"]
    volume_of("ivan", 1)
    assert "backup_volume_size_bytes" in scrape(Client(REMOTE_ADDR="192.0.2.7")).content.decode()
    scrape(Client(REMOTE_ADDR="2001:db8::5"))
    assert_refused(Client(REMOTE_ADDR="192.0.3.7").get("/metrics"))
    # Loopback is no longer in the list.
    assert_refused(Client(REMOTE_ADDR="127.0.0.1").get("/metrics"))


def test_an_ipv4_client_seen_through_an_ipv6_socket_is_matched():
    scrape(Client(REMOTE_ADDR="::ffff:127.0.0.1"))
    assert_refused(Client(REMOTE_ADDR="::ffff:192.0.2.7").get("/metrics"))


def test_the_token_admits_a_foreign_address_and_a_wrong_one_is_refused(settings, caplog):
    settings.METRICS_TOKEN = TOKEN
    foreign = Client(REMOTE_ADDR="192.0.2.7")
    scrape(foreign, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    wrong = TOKEN[:-1] + "y"
    for header in (f"Bearer {wrong}", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer "):
        assert_refused(foreign.get("/metrics", HTTP_AUTHORIZATION=header))
    assert_refused(foreign.get("/metrics", HTTP_AUTHORIZATION="Bearer t\u00f6ken"))
    assert wrong not in caplog.text
    assert TOKEN not in caplog.text


def test_without_a_token_configured_an_empty_bearer_is_refused():
    foreign = Client(REMOTE_ADDR="192.0.2.7")
    assert_refused(foreign.get("/metrics", HTTP_AUTHORIZATION="Bearer "))
    assert_refused(foreign.get("/metrics", HTTP_AUTHORIZATION="Bearer"))


def test_metrics_are_read_only():
    """GET only, so CSRF has nothing to protect; anything else is refused,
    by the CSRF middleware first when it checks."""
    client = Client(REMOTE_ADDR="127.0.0.1")
    for method in (client.post, client.put, client.delete):
        assert method("/metrics").status_code == 405
    checked = Client(REMOTE_ADDR="127.0.0.1", enforce_csrf_checks=True)
    assert checked.post("/metrics").status_code == 403


@pytest.mark.parametrize(
    ("networks", "token", "error_id"),
    [
        (["10.0.0.1/8"], "", "backup.metrics.E001"),  # host bits set: what was meant?
        (["localhost"], "", "backup.metrics.E001"),
        ("127.0.0.1/32", "", "backup.metrics.E001"),  # a string, not a list of networks
        (["127.0.0.1/32"], "short", "backup.metrics.E002"),
        (["127.0.0.1/32"], "x" * 31 + " " + "y", "backup.metrics.E002"),
        (["127.0.0.1/32"], TOKEN, None),
    ],
)
def test_metrics_settings_are_checked_at_start(settings, networks, token, error_id):
    settings.METRICS_ALLOWED_NETWORKS = networks
    settings.METRICS_TOKEN = token
    found = metrics_settings(None)
    assert [error.id for error in found] == ([error_id] if error_id else [])
    for error in found:
        assert error.level == checks.ERROR
        if token:
            assert token not in error.msg


def test_production_config_sets_networks_and_token(tmp_path):
    config = tmp_path / "backup.toml"
    token = secrets.token_urlsafe(32)
    config.write_text(
        f'secret_key = "{secrets.token_urlsafe(50)}"\n'
        'allowed_hosts = ["backup.example.com"]\n'
        f'database = "{tmp_path / "db.sqlite3"}"\n'
        f'static_root = "{tmp_path / "static"}"\n'
        'metrics_allowed_networks = ["10.20.0.0/16"]\n'
        f'metrics_token = "{token}"\n'
    )
    env = {
        **os.environ,
        "BACKUP_CONFIG": str(config),
        "DJANGO_SETTINGS_MODULE": "backup.settings.production",
    }
    code = (
        "from django.conf import settings as s; "
        "print(s.METRICS_ALLOWED_NETWORKS, s.METRICS_TOKEN == open(0).read())"
    )
    result = subprocess.run(
        [sys.executable, str(REPO / "manage.py"), "shell", "--no-imports", "-c", code],
        input=token,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert result.stdout.strip() == "['10.20.0.0/16'] True", result.stderr
    config.write_text(config.read_text().replace('["10.20.0.0/16"]', '"10.20.0.0/16"'))
    result = subprocess.run(
        [sys.executable, str(REPO / "manage.py"), "check"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert result.returncode != 0
    assert "metrics_allowed_networks must be a list of strings" in result.stderr
