"""A host without a syslog daemon (no /dev/log): the portal says so once and
carries on, instead of a "Logging error" traceback for every record; its log
file still has every record, and syslog gets them once a daemon listens."""

import logging
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

from backup.logs import SyslogIfPresent
from support import wrapper_install

REPO = Path(__file__).resolve().parent.parent


def test_production_logging_without_a_syslog_socket_says_so_once(tmp_path):
    log_file = tmp_path / "portal.log"
    missing = tmp_path / "no-syslog.sock"
    config = tmp_path / "backup.toml"
    config.write_text(
        f'secret_key = "{secrets.token_urlsafe(50)}"\n'
        'allowed_hosts = ["backup.example.com"]\n'
        f'database = "{tmp_path / "db.sqlite3"}"\n'
        f'static_root = "{tmp_path / "static"}"\n'
        f'log_file = "{log_file}"\nsyslog_address = "{missing}"\n'
    )
    code = (
        "import logging; log = logging.getLogger('backup.probe')\n"
        "for n in range(20): log.warning('record %d', n)\n"
    )
    result = subprocess.run(
        [sys.executable, str(REPO / "manage.py"), "shell", "--no-imports", "-c", code],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "BACKUP_CONFIG": str(config),
            "DJANGO_SETTINGS_MODULE": "backup.settings.production",
        },
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Logging error" not in result.stderr
    assert "Traceback" not in result.stderr
    notes = [line for line in result.stderr.splitlines() if "unreachable" in line]
    assert len(notes) == 1, result.stderr
    assert str(missing) in notes[0]
    assert 'syslog_address = ""' in notes[0]
    logged = log_file.read_text()
    assert all(f"record {n}" in logged for n in range(20)), logged


def test_syslog_records_flow_once_a_daemon_listens(tmp_path, capsys):
    """The socket missing at start and appearing later (a syslog daemon
    started after the portal): records sent after that reach it."""
    address = tmp_path / "late.sock"
    handler = SyslogIfPresent(address=str(address))
    logger = logging.Logger(f"probe{secrets.token_hex(3)}")
    logger.addHandler(handler)
    received = []
    listener = None
    try:
        logger.warning("lost while nobody listens")
        listener = wrapper_install.listen_syslog(address, received)
        logger.warning("kept once a daemon listens")
        deadline = time.monotonic() + 5
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        handler.close()
        if listener is not None:
            listener.close()
    assert any("kept once a daemon listens" in line for line in received), received
    assert not any("lost while" in line for line in received)
    err = capsys.readouterr().err
    assert err.count("unreachable") == 1, err
    assert "Logging error" not in err
