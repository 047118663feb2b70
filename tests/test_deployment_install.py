"""bin/install for real, into a temporary prefix: the service user, the
root-owned wrappers, a sudoers entry that validates and allows exactly the
wrappers, idempotence, and bin/uninstall."""

import os
import pwd
import re
import stat
import subprocess

import pytest

from support import deployment

pytestmark = [pytest.mark.root, pytest.mark.slow]


@pytest.fixture(scope="module")
def installed():
    installation = deployment.create()
    try:
        first = installation.install()
        assert first.returncode == 0, first.stdout + first.stderr
        installation.first_run = first
        yield installation
    finally:
        deployment.destroy(installation)


def installed_wrappers(installation):
    # Executable .py files are wrappers (bin/installer.py's wrapper_names).
    return sorted(
        path.name for path in installation.wrappers.glob("*.py") if os.stat(path).st_mode & 0o100
    )


def owner_mode(path):
    info = os.stat(path)
    return pwd.getpwuid(info.st_uid).pw_name, stat.S_IMODE(info.st_mode)


def test_first_run_says_what_it_did(installed):
    out = installed.first_run.stdout
    assert f"created service user {installed.user}" in out
    assert f"created group {installed.managed_group}" in out
    assert f"wrote {installed.sudoers}" in out
    assert "migrated the database" in out
    assert "collected static files" in out


def test_second_run_changes_nothing_and_says_so(installed):
    watched = [installed.sudoers, installed.config, installed.wrappers / "local_settings.py"]
    before = {path: (path.read_bytes(), os.stat(path).st_mtime_ns) for path in watched}
    again = installed.install()
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "bin/install: nothing to change, already installed."
    assert {path: (path.read_bytes(), os.stat(path).st_mtime_ns) for path in watched} == before


def test_the_service_user_is_a_locked_system_account(installed):
    entry = pwd.getpwnam(installed.user)
    assert entry.pw_uid < 1000
    # No login shell: runuser -u, sudo -u and cron need none.
    assert entry.pw_shell == "/usr/sbin/nologin"


def test_a_service_user_with_a_login_shell_from_an_older_installer_loses_it(installed):
    subprocess.run(["usermod", "--shell", "/bin/bash", installed.user], check=True)
    again = installed.install()
    assert again.returncode == 0, again.stderr
    assert f"set the shell of service user {installed.user} to /usr/sbin/nologin" in again.stdout
    assert pwd.getpwnam(installed.user).pw_shell == "/usr/sbin/nologin"
    shadow = subprocess.run(
        ["passwd", "--status", installed.user], capture_output=True, text=True, check=True
    )
    assert shadow.stdout.split()[1] == "L"  # no password: nobody logs in as it


def test_wrappers_are_root_owned_and_private(installed):
    assert owner_mode(installed.wrappers) == ("root", 0o700)
    for path in installed.wrappers.rglob("*"):
        owner, mode = owner_mode(path)
        assert owner == "root", path
        assert mode & 0o077 == 0, f"{path} is {mode:o}"
    source = sorted(
        path.name
        for path in (deployment.REPO / "wrappers").glob("*.py")
        if os.stat(path).st_mode & 0o100
    )
    assert installed_wrappers(installed) == source
    assert "wrappers_settings.py" not in source
    assert owner_mode(installed.wrappers / "wrappers_settings.py") == ("root", 0o600)


def test_sudoers_file_validates_and_lists_exactly_the_wrappers(installed):
    assert owner_mode(installed.sudoers) == ("root", 0o440)
    checked = subprocess.run(
        ["visudo", "-c", "-f", str(installed.sudoers)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    text = installed.sudoers.read_text()
    listed = re.findall(r"(/\S+?\.py)", text)
    assert listed == [str(installed.wrappers / name) for name in installed_wrappers(installed)]
    assert f"Defaults:{installed.user} env_reset" in text
    # Nothing was left behind by the validate-then-rename step.
    assert not list(installed.sudoers.parent.glob(f".{installed.user}*"))


def test_service_user_runs_every_wrapper_through_sudo_without_password(installed):
    for name in installed_wrappers(installed):
        # An argument no wrapper accepts: each must refuse it as root, before
        # doing anything, which proves sudo ran it.
        run = installed.as_service_user(
            "sudo", "-n", str(installed.wrappers / name), "NOT/A/USER", "x", "y", timeout=60
        )
        assert "sudo:" not in run.stderr, run.stderr
        assert run.returncode == 2, (name, run.stderr)
        assert run.stderr.startswith(f"{name}: refused:"), run.stderr
        assert "must run as root" not in run.stderr
    # The wrappers log who asked: sudo tells them.
    assert any(f"from {installed.user}: expected" in line for line in installed.syslog)


def test_service_user_can_run_nothing_else(installed):
    listing = subprocess.run(
        ["sudo", "-n", "-l", "-U", installed.user], capture_output=True, text=True, check=True
    ).stdout
    commands = listing.split("may run the following commands on", 1)[1].split("\n", 1)[1]
    allowed = re.findall(r"(/\S+?)(?:,|$)", commands, flags=re.MULTILINE)
    assert allowed == [str(installed.wrappers / name) for name in installed_wrappers(installed)]
    for argv in (
        ["/usr/bin/true"],
        ["/usr/bin/id"],
        ["-u", "root", "/bin/sh", "-c", "id"],
        ["/usr/bin/python3", str(installed.wrappers / "mkdir.py")],
        ["/usr/bin/cat", str(installed.wrappers / "local_settings.py")],
    ):
        denied = installed.as_service_user("sudo", "-n", *argv)
        assert denied.returncode == 1
        assert "a password is required" in denied.stderr
    # Nor can it read or change the wrappers without sudo.
    peek = installed.as_service_user("ls", str(installed.wrappers))
    assert peek.returncode != 0
    assert "Permission denied" in peek.stderr


def test_config_is_outside_the_repository_and_readable_by_the_service_user_only(installed):
    assert not installed.config.is_relative_to(deployment.REPO)
    info = os.stat(installed.config)
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (0, 0o640)
    assert info.st_gid == pwd.getpwnam(installed.user).pw_gid
    text = installed.config.read_text()
    assert re.search(r'^secret_key = "[A-Za-z0-9_-]{60,}"$', text, flags=re.MULTILINE)
    assert 'allowed_hosts = ["localhost"]' in text
    other = subprocess.run(
        ["runuser", "-u", "nobody", "--", "cat", str(installed.config)],
        capture_output=True,
        text=True,
    )
    assert other.returncode != 0


def test_production_settings_pass_djangos_deploy_checks(installed):
    checked = installed.manage("check", "--deploy", "--fail-level", "WARNING")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "no issues" in checked.stdout


def test_data_and_socket_directories(installed):
    data = installed.prefix / "var" / "lib" / "backupmanagement"
    assert owner_mode(data) == (installed.user, 0o750)
    assert (data / "db.sqlite3").exists()
    assert owner_mode(data / "db.sqlite3")[0] == installed.user
    info = os.stat(installed.run_dir)
    assert stat.S_IMODE(info.st_mode) == 0o2750  # setgid: the socket gets the web group
    assert info.st_gid == pwd.getpwnam("www-data").pw_gid
    tmpfiles = installed.prefix / "etc" / "tmpfiles.d" / f"{installed.user}.conf"
    assert f"d {installed.run_dir} 2750 {installed.user} www-data -" in tmpfiles.read_text()
    logrotate = installed.prefix / "etc" / "logrotate.d" / installed.user
    log_dir = installed.prefix / "var" / "log" / "backupmanagement"
    assert logrotate.read_text().startswith(f"{log_dir}/*.log {{\n")
    checked = subprocess.run(
        ["logrotate", "--debug", str(logrotate)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    assert owner_mode(installed.prefix / "srv" / "userbackup") == ("root", 0o755)


def test_static_files_are_roots_so_a_taken_over_portal_cant_change_them(installed):
    assert (installed.static_root / "admin" / "css" / "base.css").exists()
    assert owner_mode(installed.static_root) == ("root", 0o755)
    for path in installed.static_root.rglob("*"):
        owner, mode = owner_mode(path)
        assert owner == "root", path
        assert mode & 0o022 == 0, f"{path} is {mode:o}"
    tamper = installed.as_service_user(
        "touch", str(installed.static_root / "js" / "copy-password.js")
    )
    assert tamper.returncode != 0


def test_the_service_users_home_is_its_data_directory_not_the_clones_parent(installed):
    entry = pwd.getpwnam(installed.user)
    assert entry.pw_dir == str(installed.prefix / "var" / "lib" / "backupmanagement")
    assert not (installed.prefix / "home" / installed.user).exists()
    for parent in deployment.REPO.parents:
        assert os.stat(parent).st_uid != entry.pw_uid


def test_the_samba_config_option_reaches_the_wrappers(installed):
    local = (installed.wrappers / "local_settings.py").read_text()
    assert f"SAMBA_CONFIG = '{installed.samba_config}'" in local


def test_wrapper_settings_are_written_once_then_kept(installed):
    local = installed.wrappers / "local_settings.py"
    text = local.read_text()
    assert f"MANAGED_GROUP = '{installed.managed_group}'" in text
    assert f"DIRECTORIES_ROOT = '{installed.prefix}/srv/userbackup'" in text
    # --prefix moves the snapshots' root too: the wrappers mount them there.
    assert f"SNAPSHOTS_ROOT = '{installed.prefix}/srv/userbackup-snapshots'" in text
    edited = text + "PROTECTED_USERS = ('root', 'admin')\n"
    local.write_text(edited)
    try:
        again = installed.install()
        assert again.returncode == 0, again.stderr
        assert local.read_text() == edited
    finally:
        local.write_text(text)


def test_a_bad_user_name_is_refused_before_anything_changes():
    refused = subprocess.run(
        [
            str(deployment.REPO / "bin" / "install"),
            "--user",
            "bad.name",
            "--prefix",
            "/nonexistent",
        ],
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0
    assert "invalid user name 'bad.name'" in refused.stderr
    assert not os.path.exists("/nonexistent")
    assert not os.path.exists("/etc/sudoers.d/bad.name")


def test_uninstall_removes_what_install_made():
    installation = deployment.create()
    try:
        assert installation.install().returncode == 0
        removed = subprocess.run(
            [str(deployment.REPO / "bin" / "uninstall"), *installation.options, "--purge"],
            capture_output=True,
            text=True,
        )
        assert removed.returncode == 0, removed.stderr
        assert not installation.sudoers.exists()
        assert not installation.wrappers.exists()
        assert not installation.config.exists()
        assert not (installation.prefix / "var" / "lib" / "backupmanagement").exists()
        with pytest.raises(KeyError):
            pwd.getpwnam(installation.user)
        # The folders made to hold the installation go with it.
        for leftover in ("opt", "etc", "var/www"):
            assert not (installation.prefix / leftover / "backupmanagement").exists(), leftover
        # Backup accounts' group and the volumes' root are data: kept.
        assert (installation.prefix / "srv" / "userbackup").is_dir()
    finally:
        deployment.destroy(installation)
