"""The portal's own Samba share served by a real, private smbd, for tests.

    with samba_share.running(wrappers) as server:
        server.smbclient(user, password, user, "put local remote")

The configuration is the one production uses, as ``manage.py samba_config``
generates it from the settings (DIRECTORIES_ROOT is the session install's),
for a private instance: a free loopback port, and state, passdb and logs
under ``<install>/samba/instances/<token>``. While it runs, the wrappers'
SAMBA_CONFIG names that configuration, so smbpasswd.py and deluser.py change
the passdb this smbd reads; afterwards the session's settings come back and
the instance's directory (passdb included) is removed.

smbd is started and stopped by tests/support/samba_server.py. The
``samba`` fixture (this module is a plugin, conftest registers it) is one
such server for a whole test module.
"""

import contextlib
import secrets
import subprocess
from pathlib import Path

import pytest
from conftest import require_tool
from django.core.management import call_command
from django.test import override_settings

from backup.samba import config

from . import samba_server

CLIENT_ENV = samba_server.CLIENT_ENV


def generate(install, directory, port, harness=None):
    """Write the instance's smb.conf with the management command; its path.

    harness, {section: {parameter: value}}, is a test harness's own
    additions (such as the model name smbtorture expects, or a second
    share): appended after the generated text, so every generated line stays
    as it is; a second [global] section reopens the globals.
    """
    target = directory / "smb.conf"
    with override_settings(
        DIRECTORIES_ROOT=install.settings["DIRECTORIES_ROOT"],
        SNAPSHOTS_ROOT=install.settings["SNAPSHOTS_ROOT"],
    ):
        call_command(
            "samba_config",
            "--port",
            str(port),
            "--interfaces",
            "lo",
            "--instance-dir",
            str(directory),
            "--audit-log",
            "file",
            "--output",
            str(target),
        )
    with target.open("a") as config_file:
        for section, parameters in (harness or {}).items():
            config_file.write(f"\n[{section}]\n")
            config_file.writelines(f"   {key} = {value}\n" for key, value in parameters.items())
    return target


def log_lines(server):
    """Every line smbd has logged so far (one file per client: log.%m)."""
    lines = []
    for log in sorted((server.directory / "log").glob("log.*")):
        lines.extend(log.read_text(errors="replace").splitlines())
    return lines


def testparm(path):
    return subprocess.run(
        ["testparm", "-s", str(path)],
        capture_output=True,
        text=True,
        env=CLIENT_ENV,
        timeout=60,
        check=False,
    )


def start(install, harness=None):
    directory = Path(install.settings["SAMBA_CONFIG"]).parent / "instances" / secrets.token_hex(4)
    # The share paths are elsewhere (DIRECTORIES_ROOT); everything here is smbd's.
    directory.mkdir(parents=True, mode=0o700)
    for path in config.Private.under(directory).directories():
        path.mkdir(mode=0o700)
    server = samba_server.serve(
        directory,
        lambda port: generate(install, directory, port, harness),
        debug_stdout=False,
    )
    try:
        install.write_local_settings(SAMBA_CONFIG=str(server.config))
    except BaseException:
        samba_server.stop(server)
        raise
    return server


def stop(install, server):
    try:
        install.write_local_settings()
    finally:
        samba_server.stop(server)


@contextlib.contextmanager
def running(install, harness=None):
    server = start(install, harness)
    try:
        yield server
    finally:
        stop(install, server)


@pytest.fixture(scope="module")
def samba(wrappers):
    """The portal's share served by a private smbd, for one test module
    (starting smbd takes seconds); stopped, and the session's settings
    back, after the module's last test."""
    require_tool("smbd")
    require_tool("smbclient")
    with running(wrappers) as server:
        yield server
