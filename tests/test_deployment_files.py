"""The example files in deploy/ are valid and say what the installer does."""

import subprocess
from pathlib import Path

import pytest
from conftest import require_tool

from support.deployment import REPO

DEPLOY = REPO / "deploy"


def test_sudoers_example_is_what_bin_install_writes_for_the_wrappers_that_exist():
    printed = subprocess.run(
        [REPO / "bin" / "install", "--print-sudoers"], capture_output=True, text=True, check=True
    ).stdout
    assert (DEPLOY / "sudoers.example").read_text() == printed, (
        "a wrapper was added or removed: bin/install --print-sudoers > deploy/sudoers.example"
    )
    wrappers = sorted(
        p.name for p in (REPO / "wrappers").glob("*.py") if p.name != "wrappers_settings.py"
    )
    for name in wrappers:
        assert f"/opt/backupmanagement/wrappers/{name}" in printed


@pytest.mark.root
def test_sudoers_example_validates():
    require_tool("visudo")
    checked = subprocess.run(
        ["visudo", "-c", "-f", DEPLOY / "sudoers.example"], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_systemd_units_verify(tmp_path):
    require_tool("systemd-analyze")
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        # Pointed at this clone, as an admin whose clone lives elsewhere would.
        text = (
            unit.read_text()
            .replace("/opt/backupmanagement/portal", str(REPO))
            .replace("/opt/backupmanagement/wrappers", str(REPO / "wrappers"))
            .replace("=backupmanagement", "=www-data")
        )
        (tmp_path / unit.name).write_text(text)
    units = sorted(str(path) for path in tmp_path.glob("*.service"))
    assert {Path(unit).stem for unit in units} == {
        "backupmanagement-fcgi",
        "backupmanagement-worker",
        "backupmanagement-mount",
        "backupmanagement-update-df-stats",
        "backupmanagement-rrd-waittime",
        "backupmanagement-fetch-backups",
        "backupmanagement-backup-alerts",
        "backupmanagement-take-snapshots",
        "backupmanagement-destroy-due-volumes",
    }
    verified = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True)
    assert verified.returncode == 0, verified.stderr


def test_units_run_as_the_service_user_in_production_settings():
    for name in ("backupmanagement-fcgi.service", "backupmanagement-worker.service"):
        text = (DEPLOY / "systemd" / name).read_text()
        assert "User=backupmanagement\n" in text
        assert "Environment=DJANGO_SETTINGS_MODULE=backup.settings.production\n" in text
        assert "NoNewPrivileges" not in text.replace("(NoNewPrivileges breaks it)", "")
    worker = (DEPLOY / "systemd" / "backupmanagement-worker.service").read_text()
    assert "manage.py db_worker" in worker
    mount = (DEPLOY / "systemd" / "backupmanagement-mount.service").read_text()
    assert "ExecStart=/opt/backupmanagement/wrappers/mount.py\n" in mount
    assert "Before=backupmanagement-fcgi.service" in mount


def test_crontab_example_has_the_original_lines():
    text = (DEPLOY / "crontab.example").read_text()
    # The daemon starts from root's line, after /run's socket directory is
    # remade and the volumes are mounted (cron orders no @reboot lines).
    assert "@reboot /opt/backupmanagement/portal/bin/start.sh" not in text
    assert (
        "# @reboot install -d -m 2750 -o backupmanagement -g www-data /run/backupmanagement"
        " && /opt/backupmanagement/wrappers/mount.py;"
        " runuser -u backupmanagement -- /opt/backupmanagement/portal/bin/start.sh\n"
    ) in text
    assert "* * * * * cd /opt/backupmanagement/portal;" in text
    assert "manage.py rrd_waittime" in text
    assert "*/5 * * * * cd /opt/backupmanagement/portal;" in text
    assert "manage.py update_df_stats" in text
    assert "DJANGO_SETTINGS_MODULE=backup.settings.production" in text


def test_web_server_configs_agree_on_paths():
    apache = (DEPLOY / "apache" / "backupmanagement.conf").read_text()
    nginx = (DEPLOY / "nginx" / "backupmanagement.conf").read_text()
    for path in ("/run/backupmanagement/backup.sock", "/var/www/backupmanagement/static"):
        assert path in apache
        assert path in nginx
    assert "fastcgi_param REMOTE_USER $remote_user;" in nginx
    assert "location /backup/static/" in nginx
