"""Production settings are safe by default, the demo's SSO stand-in can't be
switched on with DEBUG off, and the site works under the seed's /backup/."""

import logging
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.wsgi import WSGIHandler
from django.test import override_settings
from django.urls import set_script_prefix

from backup.logs import EscapingFormatter
from backup.sso.checks import development_sso_needs_debug
from backup.sso.middleware import DevelopmentSSOMiddleware
from support import wrapper_install

REPO = Path(__file__).resolve().parent.parent


def manage(*args, env):
    return subprocess.run(
        [sys.executable, str(REPO / "manage.py"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=REPO,
        check=False,
    )


@pytest.fixture
def production_config(tmp_path):
    config = tmp_path / "backup.toml"
    config.write_text(
        f'secret_key = "{secrets.token_urlsafe(50)}"\n'
        'allowed_hosts = ["backup.example.com"]\n'
        f'database = "{tmp_path / "db.sqlite3"}"\n'
        f'static_root = "{tmp_path / "static"}"\n'
    )
    return {"BACKUP_CONFIG": str(config), "DJANGO_SETTINGS_MODULE": "backup.settings.production"}


def test_check_deploy_is_clean_with_production_settings(production_config):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_have_debug_and_the_sso_stand_in_off(production_config):
    code = (
        "from django.conf import settings as s; "
        "print(s.DEBUG, s.DEV_SSO, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "len(s.SECRET_KEY))"
    )
    result = manage("shell", "--no-imports", "-c", code, env=production_config)
    assert result.stdout.split() == ["False", "False", "True", "True", "67"]


def test_production_settings_refuse_to_start_without_a_secret_key(tmp_path):
    config = tmp_path / "backup.toml"
    config.write_text('allowed_hosts = ["backup.example.com"]\n')
    env = {"BACKUP_CONFIG": str(config), "DJANGO_SETTINGS_MODULE": "backup.settings.production"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "must set secret_key" in result.stderr


def test_sso_stand_in_refuses_to_run_with_debug_off():
    with (
        override_settings(DEV_SSO=True, DEBUG=False),
        pytest.raises(ImproperlyConfigured, match="needs DEBUG"),
    ):
        DevelopmentSSOMiddleware(lambda request: None)
    with override_settings(DEV_SSO=True, DEBUG=False):
        assert [error.id for error in development_sso_needs_debug(None)] == ["backup.E001"]


@pytest.mark.django_db(transaction=True)
def test_links_follow_the_backup_prefix():
    """As behind Apache at /backup/: the server passes SCRIPT_NAME."""
    environ = {}
    setup_testing_defaults(environ)
    environ.update(SCRIPT_NAME="/backup", PATH_INFO="/history/", REMOTE_USER="erin")
    statuses = []
    try:
        body = b"".join(
            WSGIHandler()(environ, lambda status, headers, exc_info=None: statuses.append(status))
        ).decode()
    finally:
        # The handler sets this thread's URL prefix; later tests expect none.
        set_script_prefix("/")
    assert statuses == ["200 OK"]
    assert 'href="/backup/"' in body
    assert 'href="/backup/history/"' in body


def test_a_misspelt_production_key_is_refused(production_config):
    config = Path(production_config["BACKUP_CONFIG"])
    config.write_text(config.read_text() + "default_disksize = 10\n")
    result = manage("check", env=production_config)
    assert result.returncode != 0
    assert "unknown keys default_disksize" in result.stderr


def test_optional_production_keys_reach_the_settings(production_config):
    config = Path(production_config["BACKUP_CONFIG"])
    config.write_text(config.read_text() + 'default_quota = 500\nadmins = ["boss"]\n')
    code = "from django.conf import settings as s; print(s.DEFAULT_QUOTA, s.BACKUP_ADMINS)"
    result = manage("shell", "--no-imports", "-c", code, env=production_config)
    assert result.stdout.strip() == "500 ['boss']"


def test_afp_is_offered_only_when_the_configuration_says_so(production_config):
    code = "from django.conf import settings as s; print(s.AFP_OFFERED)"
    assert manage("shell", "--no-imports", "-c", code, env=production_config).stdout == "False\n"
    config = Path(production_config["BACKUP_CONFIG"])
    config.write_text(config.read_text() + "afp_offered = true\n")
    assert manage("shell", "--no-imports", "-c", code, env=production_config).stdout == "True\n"


def test_the_daemon_processes_share_one_cache_beside_the_database(production_config):
    """What one FastCGI child learnt from the wrappers, the others reuse: a
    value one process stores, another process reads (no per-process cache)."""
    token = secrets.token_hex(8)
    stored = manage(
        "shell", "--no-imports", "-c",
        f"from django.core.cache import cache; cache.set('probe', '{token}', 60)",
        env=production_config,
    )  # fmt: skip
    assert stored.returncode == 0, stored.stderr
    read = manage(
        "shell", "--no-imports", "-c",
        "from django.core.cache import cache; print(cache.get('probe'))",
        env=production_config,
    )  # fmt: skip
    assert read.stdout.strip() == token
    database = Path(production_config["BACKUP_CONFIG"]).parent / "db.sqlite3"
    assert any((database.parent / "cache" / "default").iterdir())


def test_the_alert_keys_reach_the_settings(production_config):
    config = Path(production_config["BACKUP_CONFIG"])
    config.write_text(
        config.read_text()
        + "alert_channels_allowed = true\nnear_quota_percents = [70, 99]\n"
        + "pool_warn_allocated_percent = 85\npool_warn_used_percent = 75\n"
    )
    code = (
        "from django.conf import settings as s; print(s.ALERT_CHANNELS_ALLOWED, "
        "s.NEAR_QUOTA_PERCENTS, s.POOL_WARN_ALLOCATED_PERCENT, s.POOL_WARN_USED_PERCENT)"
    )
    result = manage("shell", "--no-imports", "-c", code, env=production_config)
    assert result.stdout.strip() == "True [70, 99] 85 75"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        # The examples that once passed, converted: a string where a list is
        # meant gave one admin per letter; "no" was true.
        ('admins = "alice"', "admins must be a list of strings, not str 'alice'"),
        ('allowed_hosts = "host"', "allowed_hosts must be a list of strings, not str 'host'"),
        ('sso_case_insensitive = "no"', "sso_case_insensitive must be true or false, not str 'no'"),
        ('default_quota = "300"', "default_quota must be an integer, not str '300'"),
        ("default_quota = true", "default_quota must be an integer, not bool True"),
        ("email_port = 25.0", "email_port must be an integer, not float 25.0"),
        ('admins = ["alice", 7]', "admins must be a list of strings, not list ['alice', 7]"),
        ("support_contact = 42", "support_contact must be a string, not int 42"),
        (
            'near_quota_percents = [80, "90"]',
            "near_quota_percents must be a list of whole numbers, not list [80, '90']",
        ),
        (
            'alert_channels_allowed = "yes"',
            "alert_channels_allowed must be true or false, not str 'yes'",
        ),
        (
            'rrd_directory = "rrd"',
            "rrd_directory must be an absolute path (a string starting with /), not str 'rrd'",
        ),
    ],
)
def test_a_production_value_of_the_wrong_type_is_refused_at_start(production_config, line, message):
    config = Path(production_config["BACKUP_CONFIG"])
    key = line.split(" = ")[0]
    kept = [entry for entry in config.read_text().splitlines() if not entry.startswith(key)]
    config.write_text("\n".join([*kept, line]) + "\n")
    result = manage("check", env=production_config)
    assert result.returncode != 0
    assert f"{config}: {message}" in result.stderr


def test_a_production_error_is_recorded_with_its_traceback(production_config, tmp_path):
    """DEBUG off: a server error reaches the log file (and syslog) with its
    traceback, as the 500 page promises. The error is real: the database
    was never migrated, so signing in fails."""
    received = []
    syslog = tmp_path / "syslog.sock"
    listener = wrapper_install.listen_syslog(syslog, received)
    log_file = tmp_path / "portal.log"
    config = Path(production_config["BACKUP_CONFIG"])
    config.write_text(
        config.read_text() + f'log_file = "{log_file}"\nsyslog_address = "{syslog}"\n'
    )
    code = (
        "from django.test import Client; "
        "response = Client(raise_request_exception=False).get("
        "'/', secure=True, HTTP_HOST='backup.example.com', REMOTE_USER='alice'); "
        "print(response.status_code); print(b'details were recorded' in response.content)"
    )
    try:
        result = manage("shell", "--no-imports", "-c", code, env=production_config)
        assert result.stdout.split() == ["500", "True"], result.stdout + result.stderr
        deadline = time.monotonic() + 5
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        listener.close()
    logged = log_file.read_text()
    assert "ERROR django.request: Internal Server Error: /" in logged
    assert "Traceback (most recent call last):" in logged
    assert "OperationalError: no such table" in logged
    assert any("Internal Server Error" in line for line in received), received


def test_log_lines_escape_control_characters_from_user_names(caplog):
    record = logging.LogRecord(
        "backup", logging.WARNING, __file__, 1, "removed %s", ("x\nFORGED ERROR \x1b[2J",), None
    )
    line = EscapingFormatter("%(levelname)s %(message)s").format(record)
    assert line == "WARNING removed x\\nFORGED ERROR \\x1b[2J"
    assert "\n" not in line
