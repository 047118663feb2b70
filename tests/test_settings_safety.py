"""Production settings are safe by default, the demo's SSO stand-in can't be
switched on with DEBUG off, and the site works under the seed's /backup/."""

import os
import secrets
import subprocess
import sys
from pathlib import Path
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.wsgi import WSGIHandler
from django.test import override_settings
from django.urls import set_script_prefix

from backup.sso.checks import development_sso_needs_debug
from backup.sso.middleware import DevelopmentSSOMiddleware

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
