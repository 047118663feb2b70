"""Check-ins from the real tools, against the portal served by Django's
live server (the whole middleware stack, a real socket): borgmatic's own
`healthchecks:` hook (Debian's borgmatic, a real Borg backup, then a failing
one), and the setup page's shell scripts run exactly as shown, with curl:
restic's wrapper (a real restic backup, then a failing one), Time Machine's
LaunchAgent script (with a stand-in tmutil, the only thing here that is not
the real one: there is no macOS) and the one-line post-job command.

The lines are read from the page an employee sees after making the address."""

import html
import os
import re
import shutil
import subprocess
import time
from urllib.parse import urlsplit

import pytest
from conftest import require_tool
from django.test import Client

from backup.checkins.models import CheckIn
from support.backup_tools import Tools, make_tree

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def address(live_server, django_user_model):
    """(check-in, {tool: its lines as the page shows them}) for a new address
    of a new employee, on the live server."""
    person = django_user_model.objects.create(username=f"tools{os.getpid()}{time.monotonic_ns()}")
    host = urlsplit(live_server.url).netloc
    client = Client(REMOTE_USER=person.username, HTTP_HOST=host)
    response = client.post("/checkins/create/", {"name": "Laptop", "period_hours": "24"})
    assert response.status_code == 302
    page = client.get("/checkins/shown/").content.decode()
    lines = {
        name: html.unescape(text)
        for name, text in re.findall(r'data-testid="setup-([a-z0-9-]+)">(.*?)</pre>', page, re.S)
    }
    url = html.unescape(re.search(r'data-testid="checkin-url">([^<]+)<', page).group(1))
    assert url.startswith(f"{live_server.url}/ping/")
    return CheckIn.objects.get(owner=person), lines, url


def reload(checkin):
    return CheckIn.objects.get(pk=checkin.pk)


def run(argv, env, **kwargs):
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, **kwargs)


# --- borgmatic -------------------------------------------------------------------


def borgmatic_config(tmp_path, lines, repository, source):
    """A borgmatic configuration as its documentation shows, with the
    hook exactly as the setup page gives it for this borgmatic's version."""
    version = run(["borgmatic", "--version"], os.environ).stdout.strip()
    major_minor = tuple(int(part) for part in version.split(".")[:2])
    config = tmp_path / "borgmatic.yaml"
    if major_minor < (1, 8):
        config.write_text(
            "location:\n"
            f"    source_directories:\n        - {source}\n"
            f"    repositories:\n        - {repository}\n"
            "retention:\n    keep_daily: 7\n"
            f"{lines['borgmatic-1-7']}\n"
        )
    else:
        config.write_text(
            f"source_directories:\n    - {source}\n"
            f"repositories:\n    - path: {repository}\n"
            "keep_daily: 7\n"
            f"{lines['borgmatic']}\n"
        )
    return config


def test_borgmatic_healthchecks_hook_success_and_failure(address, tmp_path):
    require_tool("borgmatic")
    require_tool("borg")
    checkin, lines, _ = address
    tools = Tools(tmp_path)
    source, repository = tmp_path / "source", tmp_path / "repo"
    make_tree(source)
    tools.run("borg", "init", "--encryption=repokey", str(repository))
    config = borgmatic_config(tmp_path, lines, repository, source)

    done = run(["borgmatic", "--config", str(config), "--verbosity", "1", "create"], tools.env)
    assert done.returncode == 0, done.stderr
    row = reload(checkin)
    assert row.last_success_at is not None
    assert row.last_failure_at is None
    assert row.started_at is None  # /start, then the success that ended it
    assert row.check_ins == 2
    # borgmatic sends warnings and errors by default (--monitoring-verbosity 0):
    # a clean run sends an empty body, which keeps no log.
    assert row.last_log == ""

    # The repository gone: borg fails, borgmatic reports /fail with its log.
    shutil.rmtree(repository)
    failed = run(["borgmatic", "--config", str(config), "--verbosity", "1", "create"], tools.env)
    assert failed.returncode != 0
    row = reload(checkin)
    assert row.last_failure_at is not None
    assert row.last_failure_at > row.last_success_at
    assert row.check_ins == 4
    assert str(repository) in row.failure_log
    assert row.started_at is None


# --- the curl scripts -----------------------------------------------------------------


def test_restic_wrapper_script_as_shown(address, tmp_path):
    require_tool("restic")
    require_tool("curl")
    checkin, lines, _ = address
    script = tmp_path / "restic-backup.sh"
    script.write_text(lines["restic-linux"] + "\n")
    tools = Tools(tmp_path)
    make_tree(tools.home)
    repository = tmp_path / "restic-repo"
    tools.run("restic", "--no-cache", "-r", str(repository), "init")
    env = {**tools.env, "RESTIC_REPOSITORY": str(repository), "RESTIC_CACHE_DIR": str(tmp_path)}

    done = run(["sh", str(script)], env)
    assert done.returncode == 0, done.stderr
    row = reload(checkin)
    assert row.last_success_at is not None
    assert row.last_exit_status == 0
    assert "snapshot" in row.last_log
    assert row.check_ins == 2

    env["RESTIC_REPOSITORY"] = str(tmp_path / "no-such-repo")
    failed = run(["sh", str(script)], env)
    assert failed.returncode != 0
    row = reload(checkin)
    assert row.last_failure_at is not None
    assert row.last_exit_status == failed.returncode
    assert "no-such-repo" in row.failure_log
    assert row.check_ins == 4


FAKE_TMUTIL = """#!/bin/sh
# Answers as macOS's tmutil does, from files the test writes.
case "$1" in
    status) printf '{\\n    Running = %s;\\n}\\n' "$(cat "$TMUTIL_STATE/running")" ;;
    latestbackup) cat "$TMUTIL_STATE/latest" ;;
esac
"""


def test_time_machine_script_as_shown(address, tmp_path):
    require_tool("curl")
    checkin, lines, _ = address
    script = tmp_path / "backup-checkin.sh"
    script.write_text(lines["time-machine"] + "\n")
    bin_dir, state, home = tmp_path / "bin", tmp_path / "tmutil-state", tmp_path / "home"
    for directory in (bin_dir, state, home):
        directory.mkdir()
    (bin_dir / "tmutil").write_text(FAKE_TMUTIL)
    (bin_dir / "tmutil").chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(home), "TMUTIL_STATE": str(state)}

    def time_machine(running, latest):
        (state / "running").write_text("1" if running else "0")
        (state / "latest").write_text(latest + "\n" if latest else "")
        result = run(["sh", str(script)], env)
        assert result.returncode == 0, result.stderr
        return reload(checkin)

    old = "/Volumes/backup/Backups.backupdb/Mac/2026-03-01-101010"
    new = "/Volumes/backup/Backups.backupdb/Mac/2026-03-02-101010"
    assert time_machine(False, old).check_ins == 0  # the first run only notes the newest
    row = time_machine(True, old)
    assert row.started_at is not None
    assert time_machine(True, old).check_ins == 1  # still running: said once
    row = time_machine(False, new)
    assert row.last_success_at is not None
    assert row.started_at is None
    assert new in row.last_log
    row = time_machine(True, new)
    row = time_machine(False, new)  # the run ended without a new backup
    assert row.last_failure_at is not None
    assert row.last_failure_at > row.last_success_at
    assert "without a new backup" in row.failure_log
    assert time_machine(False, new).check_ins == 4  # start, success, start, fail; then quiet


def test_post_job_command_as_shown(address, tmp_path):
    """Windows' curl.exe takes the same arguments; here -o NUL becomes /dev/null."""
    require_tool("curl")
    checkin, lines, url = address
    assert lines["post-job"] == f"curl.exe -fsS -m 10 --retry 5 -o NUL {url}"
    argv = lines["post-job"].replace("curl.exe", "curl").replace("NUL", "/dev/null").split()
    assert run(argv, os.environ).returncode == 0
    assert reload(checkin).last_success_at is not None
    revoked = url.rsplit("/", 1)[0] + "/" + "A" * 32
    refused = run([*argv[:-1], revoked], os.environ)
    assert refused.returncode == 22  # curl -f: HTTP 404
