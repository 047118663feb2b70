"""manage.py check_prerequisities on a real installation: all OK as
installed, and one clear FAIL line for each thing an admin can get wrong."""

import os
import pwd
import re
import secrets
import shutil
import subprocess

import pytest

from backup.deployment import checks
from backup.deployment.checks import base as check_base
from backup.deployment.checks import machine as machine_checks
from backup.deployment.checks import samba as samba_checks
from backup.deployment.checks import sshd as sshd_checks
from support import deployment

pytestmark = [pytest.mark.root, pytest.mark.slow]


@pytest.fixture(scope="module")
def installed():
    installation = deployment.create()
    try:
        result = installation.install()
        assert result.returncode == 0, result.stdout + result.stderr
        # As an admin would for a small pool: the test pool is 20 GiB.
        with installation.config.open("a") as config:
            config.write("default_disk_size = 1\n")
        # The README's Samba step, into the installation's private instance.
        samba = installation.manage(
            "samba_config",
            "--instance-dir",
            str(installation.samba_config.parent),
            "--output",
            str(installation.samba_config),
            as_root=True,
        )
        assert samba.returncode == 0, samba.stderr
        yield installation
    finally:
        deployment.destroy(installation)


IDENTIFIED = re.compile(r"(.*) \[(backup\.prerequisites\.[EW]\d{3})\]")


def check(installation, *, as_root=False, ids=None):
    """(the command, {check: (status, message)}); a WARN or FAIL line's id
    goes into ids when given."""
    completed = installation.manage("check_prerequisities", as_root=as_root)
    lines = {}
    for line in completed.stdout.splitlines():
        status, _, rest = line.partition(" ")
        name, _, message = rest.strip().partition(": ")
        identified = IDENTIFIED.fullmatch(message)
        if identified:
            message = identified[1]
            if ids is not None:
                ids[name] = identified[2]
        if status in ("OK", "WARN", "FAIL"):
            lines.setdefault(name, (status, message))
    return completed, lines


def failures(lines):
    return {name: message for name, (status, message) in lines.items() if status == "FAIL"}


def test_passes_on_the_installed_setup(installed):
    completed, lines = check(installed)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert failures(lines) == {}
    assert set(lines) == {
        "settings", "service user", "executables", "wrappers",
        "sudo", "env_reset", "volume group", "DIRECTORIES_ROOT", "Samba", "Samba modules",
        "Samba version", "Samba passdb", "sshd", "RRD directory", "database", "static files",
        "replica", "replica login",
    }  # fmt: skip
    assert lines["Samba passdb"] == (
        "OK",
        f"the wrappers and the share both use {installed.samba_config}",
    )
    assert lines["settings"] == ("OK", "check --deploy found no issues")
    assert lines["volume group"][1].startswith(f"loopfile pool {installed.prefix}/pool: 20 GiB")
    assert lines["Samba"][1] == f"share [homes] serves {installed.prefix}/srv/userbackup/%S"
    assert completed.stdout.rstrip().endswith("all 18 checks passed")


def test_passes_as_root_checking_for_the_service_user(installed):
    completed, lines = check(installed, as_root=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert lines["service user"] == ("OK", f"checking as {installed.user}")


def test_the_alias_spelling_runs_the_same_checks(installed):
    completed = installed.manage("check_prerequisites")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "all 18 checks passed" in completed.stdout


def test_fails_when_the_wrappers_are_writable_by_the_service_user(installed):
    account = pwd.getpwnam(installed.user)
    os.chown(installed.wrappers, account.pw_uid, 0)
    try:
        completed, lines = check(installed)
    finally:
        os.chown(installed.wrappers, 0, 0)
    assert completed.returncode != 0
    assert lines["wrappers"] == (
        "FAIL",
        f"{installed.wrappers} is owned by {installed.user}, not root: "
        f"chown -R root:root {installed.wrappers} && chmod -R go-rwx {installed.wrappers} "
        "(sudo bin/install fixes this; never install the wrappers under the service user's "
        "home)",
    )
    assert "of 18 checks failed" in completed.stderr


def test_fails_when_one_wrapper_is_group_writable(installed):
    """Seen as root, which can look inside the 0700 directory."""
    wrapper = installed.wrappers / "useradd.py"
    os.chown(wrapper, 0, pwd.getpwnam(installed.user).pw_gid)
    wrapper.chmod(0o770)
    try:
        completed, lines = check(installed, as_root=True)
    finally:
        os.chown(wrapper, 0, 0)
        wrapper.chmod(0o700)
    assert completed.returncode != 0
    assert lines["wrappers"][1].startswith(f"{wrapper} is writable by others than root: chown")


def test_fails_when_the_sudoers_entry_is_missing(installed):
    aside = installed.prefix / "sudoers.aside"
    shutil.move(installed.sudoers, aside)
    try:
        completed, lines = check(installed)
    finally:
        shutil.move(aside, installed.sudoers)
    assert completed.returncode != 0
    status, message = lines["sudo"]
    assert status == "FAIL"
    assert message.startswith(f"sudo -n refuses {installed.user}: chmod.py, chown.py,")
    assert message.endswith(
        f"the sudoers entry is missing or out of date (sudo bin/install fixes this: "
        f"/etc/sudoers.d/{installed.user})"
    )
    assert lines["volume group"][0] == "FAIL"  # nothing runs without sudo


def test_fails_when_the_volume_group_does_not_exist(installed):
    local = installed.wrappers / "local_settings.py"
    original = local.read_text()
    missing = f"bmdnovg{secrets.token_hex(3)}"
    local.write_text(
        original + f"BACKEND = 'lvm'\nVOLUME_GROUP = '{missing}'\nLVM_ACTIVATION = False\n"
    )
    try:
        completed, lines = check(installed)
    finally:
        local.write_text(original)
    assert completed.returncode != 0
    status, message = lines["volume group"]
    assert status == "FAIL"
    assert missing in message
    assert "create the volume group (pvcreate /dev/sdX && vgcreate backupdisks /dev/sdX)" in message


def test_each_check_has_a_stable_id_and_can_be_silenced_by_it(installed):
    """A failing check names its id; the config file's silenced_checks
    leaves exactly that check out, and nothing else changes."""
    numbers = [number for number, _ in checks.CHECKS]
    assert numbers == sorted(set(numbers)), "check numbers must be unique and in order"
    local = installed.wrappers / "local_settings.py"
    original_local, original_config = local.read_text(), installed.config.read_text()
    local.write_text(
        original_local + f"BACKEND = 'lvm'\nVOLUME_GROUP = 'bmdnovg{secrets.token_hex(3)}'\n"
        "LVM_ACTIVATION = False\n"
    )
    try:
        ids = {}
        completed, lines = check(installed, ids=ids)
        assert lines["volume group"][0] == "FAIL"
        assert ids["volume group"] == "backup.prerequisites.E006"
        assert completed.returncode != 0
        installed.config.write_text(
            original_config + 'silenced_checks = ["backup.prerequisites.E006"]\n'
        )
        silenced, silenced_lines = check(installed)
    finally:
        local.write_text(original_local)
        installed.config.write_text(original_config)
    assert "volume group" not in silenced_lines
    assert set(silenced_lines) == set(lines) - {"volume group"}
    assert silenced.returncode == 0, silenced.stdout


def test_a_full_loop_file_pool_says_how_to_give_a_loop_file_pool_room(installed):
    """Not vgextend: a loop-file pool grows with the filesystem holding it."""
    original = installed.config.read_text()
    installed.config.write_text(
        original.replace("default_disk_size = 1\n", "default_disk_size = 100000\n")
    )
    try:
        completed, lines = check(installed)
    finally:
        installed.config.write_text(original)
    assert completed.returncode != 0
    status, message = lines["volume group"]
    assert status == "FAIL"
    assert message.startswith("loopfile pool ")
    assert "free space on the filesystem holding the pool directory" in message
    assert "vgextend" not in message


def test_fails_when_env_reset_is_off(installed):
    override = installed.sudoers.with_name(f"{installed.user}-noreset")
    override.write_text(f"Defaults:{installed.user} !env_reset\n")
    override.chmod(0o440)
    try:
        completed, lines = check(installed)
    finally:
        override.unlink()
    assert completed.returncode != 0
    assert lines["env_reset"] == (
        "FAIL",
        "sudo does not reset the environment for the service user: remove "
        "'Defaults !env_reset' from sudoers (visudo)",
    )


def test_fails_when_no_samba_share_serves_the_volumes(installed):
    config = installed.samba_config
    original = config.read_text()
    config.write_text(original.split("[homes]")[0])
    try:
        completed, lines = check(installed)
    finally:
        config.write_text(original)
    assert completed.returncode != 0
    assert lines["Samba"][1].startswith(f"no share in {config} serves {installed.prefix}/srv/")


def test_fails_on_unsafe_settings(installed):
    original = installed.config.read_text()
    unsafe = [
        'secret_key = "short"' if line.startswith("secret_key") else line
        for line in original.splitlines()
    ]
    unsafe = [
        'allowed_hosts = ["*"]' if line.startswith("allowed_hosts") else line for line in unsafe
    ]
    installed.config.write_text("\n".join(unsafe) + "\n")
    try:
        completed, _ = check(installed)
    finally:
        installed.config.write_text(original)
    assert completed.returncode != 0
    # Django's own deployment checks, one FAIL line each.
    assert "FAIL settings: security.W009: Your SECRET_KEY has less than 50 characters" in (
        completed.stdout
    )
    assert "FAIL settings: backup.W002: ALLOWED_HOSTS contains '*'." in completed.stdout
    assert "security.W018" not in completed.stdout  # DEBUG is off


def test_fails_when_the_rrd_directory_is_not_writable(installed):
    rrd = installed.prefix / "var" / "lib" / "backupmanagement" / "rrd"
    os.chown(rrd, 0, 0)
    try:
        completed, lines = check(installed)
    finally:
        account = pwd.getpwnam(installed.user)
        os.chown(rrd, account.pw_uid, account.pw_gid)
    assert completed.returncode != 0
    assert lines["RRD directory"][1].startswith(f"{rrd} is not writable by {installed.user}")


def test_unknown_service_user_is_one_clear_line(installed):
    completed = installed.manage("check_prerequisities", "--user", "bmd-no-such-user")
    assert completed.returncode != 0
    assert "bmd-no-such-user does not exist: sudo bin/install creates it" in completed.stderr


def test_sudo_listing_defaults_are_read_in_order():
    listing = (
        "Matching Defaults entries for svc on host:\n"
        "    env_reset, mail_badpass, secure_path=/usr/sbin\\:/usr/bin, use_pty,\n"
        "    !env_reset\n"
        "\n"
        "User svc may run the following commands on host:\n"
        "    (root) NOPASSWD: /opt/w/a.py\n"
    )
    assert machine_checks._defaults(listing)[-1] == "!env_reset"
    assert "env_reset" in machine_checks._defaults(listing)


def test_directories_root_without_acl_support_fails(installed):
    """ramfs has no extended attributes, hence no ACLs."""
    root = installed.prefix / "noacl"
    root.mkdir()
    subprocess.run(["mount", "-t", "ramfs", "-o", "size=1m", "ramfs", str(root)], check=True)
    original = installed.config.read_text()
    installed.config.write_text(
        original.replace(
            f'directories_root = "{installed.prefix}/srv/userbackup"',
            f'directories_root = "{root}"',
        )
    )
    try:
        completed, lines = check(installed)
    finally:
        installed.config.write_text(original)
        subprocess.run(["umount", str(root)], check=True)
        root.rmdir()
    assert completed.returncode != 0
    assert lines["DIRECTORIES_ROOT"] == (
        "FAIL",
        f"ACLs don't work on {root} (Operation not supported): put it on a filesystem with "
        "ACLs (ext4, btrfs and xfs have them on by default)",
    )


def test_directories_root_the_service_user_cannot_reach_fails(installed):
    hidden = installed.prefix / "hidden"
    (hidden / "srv").mkdir(parents=True)
    hidden.chmod(0o700)
    original = installed.config.read_text()
    installed.config.write_text(
        original.replace(
            f'directories_root = "{installed.prefix}/srv/userbackup"',
            f'directories_root = "{hidden}/srv"',
        )
    )
    try:
        completed, lines = check(installed)
    finally:
        installed.config.write_text(original)
    assert completed.returncode != 0
    assert lines["DIRECTORIES_ROOT"] == (
        "FAIL",
        f"{installed.user} cannot reach {hidden}/srv: make its parent directories "
        "traversable (chmod o+x)",
    )


def test_fails_when_the_wrappers_write_passwords_to_another_passdb(installed):
    """bin/install --samba-config once did not reach the wrappers: passwords
    went to another passdb and every login failed while all checks passed."""
    local = installed.wrappers / "local_settings.py"
    original = local.read_text()
    other = installed.prefix / "other-smb.conf"
    local.write_text(original + f"SAMBA_CONFIG = {str(other)!r}\n")
    try:
        completed, lines = check(installed)
    finally:
        local.write_text(original)
    assert completed.returncode != 0
    status, message = lines["Samba passdb"]
    assert status == "FAIL"
    assert message.startswith(
        f"the wrappers write passwords to the passdb of {other}, but the share is served "
        f"from {installed.samba_config}"
    )


def test_a_missing_vfs_module_fails_naming_the_package(tmp_path, monkeypatch, settings):
    """What a fresh host without samba-vfs-modules has: smbd's own modules
    directory without fruit and its friends."""
    real = samba_checks._modules_dir()
    (tmp_path / "vfs").mkdir()
    for module in ("catia", "streams_xattr"):
        (tmp_path / "vfs" / f"{module}.so").symlink_to(real / "vfs" / f"{module}.so")
    monkeypatch.setattr(samba_checks, "_modules_dir", lambda: tmp_path)
    result = samba_checks.samba_vfs_modules(None)
    assert result.is_serious()
    assert "full_audit, fruit" in result.msg
    assert "apt-get install samba-vfs-modules" in result.msg
    monkeypatch.setattr(samba_checks, "_modules_dir", lambda: real)
    assert not samba_checks.samba_vfs_modules(None).is_serious()


SSHD_SNIPPET = (deployment.REPO / "deploy" / "sshd" / "backupmanagement.conf").read_text()


def test_the_shipped_sshd_snippet_turns_password_logins_off_for_the_group():
    assert checks.refuses_passwords_for("backupusers", [SSHD_SNIPPET])
    assert not checks.refuses_passwords_for("othergroup", [SSHD_SNIPPET])
    commented = "\n".join(f"# {line}" for line in SSHD_SNIPPET.splitlines())
    assert not checks.refuses_passwords_for("backupusers", [commented])
    half = SSHD_SNIPPET.replace("KbdInteractiveAuthentication no", "")
    assert not checks.refuses_passwords_for("backupusers", [half])


def test_a_server_without_sshd_is_told_so_not_asked_to_configure_it(monkeypatch, tmp_path):
    """README step 5 copies the sshd snippet only if sshd is installed; the
    check says when it is not (sshd searched where the wrappers' commands
    are: here an empty directory)."""
    monkeypatch.setattr(check_base, "SEARCH_DIRS", (str(tmp_path),))
    result = sshd_checks.sshd_refuses_backup_accounts(None)
    assert not result.is_serious()
    assert result.msg == "not installed: backup accounts can't log in over SSH"
