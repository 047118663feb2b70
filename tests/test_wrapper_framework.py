"""What every wrapper gets from wrapperlib's frame: it refuses an unsafe
installation or unknown settings, ignores PYTHON* variables and PATH,
writes one syslog line per outcome, and waits for (then gives up on) a
volume's lock held by another operation, changing nothing."""

import contextlib
import os
import pwd
import socket
import subprocess
import sys
import time
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from support import accounts

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "wrappers"))

from wrapperlib import config, locks
from wrapperlib.errors import Refusal

pytestmark = pytest.mark.root

WRAPPERS_DIR = Path(__file__).resolve().parent.parent / "wrappers"
PRESENT = sorted(
    path.name for path in WRAPPERS_DIR.glob("*.py") if path.name != "wrappers_settings.py"
)
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
WAIT_SECONDS = 30


def run(install, wrapper, *args, stdin=b"", env=None):
    return subprocess.run(
        [str(install.path / wrapper), *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        env=env or ENV,
        check=False,
    )


def refusal_line(result, wrapper):
    lines = result.stderr.decode().splitlines()
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{wrapper}: refused: ")
    assert result.stdout == b""
    return lines[0]


def all_refuse(install, reason, args=()):
    """Run every wrapper (side by side); each must refuse for reason."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(lambda wrapper: run(install, wrapper, *args), PRESENT))
    for wrapper, result in zip(PRESENT, results, strict=True):
        assert reason in refusal_line(result, wrapper), wrapper


@pytest.fixture(scope="module")
def victim(wrappers):
    name = accounts.create_backup_account(wrappers)
    try:
        yield name
    finally:
        accounts.remove_backup_account(wrappers, name)


# Configuration safety


@contextlib.contextmanager
def unsafe(path, *, owner=None, mode=None):
    info = os.lstat(path)
    try:
        if owner is not None:
            os.chown(path, owner, -1)
        if mode is not None:
            os.chmod(path, mode)
        yield
    finally:
        os.chown(path, info.st_uid, info.st_gid)
        os.chmod(path, info.st_mode & 0o7777)


UNSAFE = {
    "local_settings owned by nobody": ("local_settings.py", {"owner": 65534}),
    "local_settings group-writable": ("local_settings.py", {"mode": 0o620}),
    "local_settings world-writable": ("local_settings.py", {"mode": 0o602}),
    "wrappers_settings world-writable": ("wrappers_settings.py", {"mode": 0o602}),
    "wrapperlib owned by nobody": ("wrapperlib", {"owner": 65534}),
    "wrapperlib group-writable": ("wrapperlib", {"mode": 0o770}),
    "installation directory world-writable": (".", {"mode": 0o703}),
    # The installer's compiled bytecode is imported like the source.
    "library bytecode owned by nobody": ("wrapperlib/storage/__pycache__", {"owner": 65534}),
    "settings bytecode world-writable": ("__pycache__", {"mode": 0o703}),
}


@pytest.mark.parametrize("case", UNSAFE)
def test_every_wrapper_refuses_an_installation_others_could_write(wrappers, victim, case):
    relative, change = UNSAFE[case]
    with unsafe(wrappers.path / relative, **change):
        before = accounts.host_state(wrappers, [victim])
        all_refuse(wrappers, "unsafe installation", [victim])
        assert not accounts.changes(before, accounts.host_state(wrappers, [victim]))


def test_every_wrapper_refuses_local_settings_through_a_symlink(wrappers, victim):
    local = wrappers.path / "local_settings.py"
    real = wrappers.path / "local_settings.real"
    os.rename(local, real)
    try:
        local.symlink_to(real)
        before = accounts.host_state(wrappers, [victim])
        all_refuse(wrappers, "is a symlink", [victim])
        assert not accounts.changes(before, accounts.host_state(wrappers, [victim]))
    finally:
        local.unlink(missing_ok=True)
        os.rename(real, local)


@pytest.mark.parametrize("unknown", ["BOGUS_SETTING", "PROTECTED_USER"])
def test_every_wrapper_refuses_unknown_settings(wrappers, victim, unknown):
    """A misspelt setting (PROTECTED_USER for PROTECTED_USERS) would
    silently leave the default in force: it is refused instead."""
    with accounts.settings_override(wrappers, **{unknown: ("admin1",)}):
        before = accounts.host_state(wrappers, [victim])
        all_refuse(wrappers, f"unknown settings: {unknown}", [victim])
        assert not accounts.changes(before, accounts.host_state(wrappers, [victim]))


# PYTHON* variables and PATH


@pytest.fixture
def hostile_env(tmp_path):
    """An environment whose every PYTHON* variable and PATH point at code
    that would create a marker file if it ever ran."""
    marker = tmp_path / "marker"
    payload = f"open({str(marker)!r}, 'a').write(__name__ + '\\n')\n"
    modules = tmp_path / "modules"
    userbase = tmp_path / "userbase"
    site_packages = userbase / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    site_packages = site_packages / "site-packages"
    for directory in (modules / "wrapperlib", site_packages, tmp_path / "bin", tmp_path / "home"):
        directory.mkdir(parents=True)
    for name in ("sitecustomize", "usercustomize", "json", "subprocess", "logging", "startup"):
        (modules / f"{name}.py").write_text(payload)
    (modules / "wrapperlib" / "__init__.py").write_text(payload)
    (site_packages / "usercustomize.py").write_text(payload)
    for command in ("useradd", "chpasswd", "smbpasswd", "userdel", "pdbedit", "losetup", "mount"):
        fake = tmp_path / "bin" / command
        fake.write_text(f"#!/bin/sh\necho {command} >> {marker}\n")
        fake.chmod(0o755)
    env = {
        "PATH": f"{tmp_path / 'bin'}:/usr/sbin:/usr/bin:/sbin:/bin",
        "PYTHONPATH": str(modules),
        "PYTHONSTARTUP": str(modules / "startup.py"),
        "PYTHONHOME": str(tmp_path / "home"),
        "PYTHONUSERBASE": str(userbase),
        "PYTHONINSPECT": "1",
        "PYTHONBREAKPOINT": "startup.run",
        "PYTHONWARNINGS": "error",
        "PYTHONPYCACHEPREFIX": str(tmp_path / "pycache"),
    }
    return types.SimpleNamespace(env=env, marker=marker, root=tmp_path)


def test_every_wrapper_ignores_python_variables_when_refusing(wrappers, hostile_env):
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(lambda w: run(wrappers, w, "--help", env=hostile_env.env), PRESENT))
    for wrapper, result in zip(PRESENT, results, strict=True):
        line = refusal_line(result, wrapper)
        assert "invalid user name" in line or "expected" in line
    assert not hostile_env.marker.exists()
    assert not (hostile_env.root / "pycache").exists()


def test_account_wrappers_act_normally_under_a_hostile_environment(wrappers, hostile_env):
    env = hostile_env.env
    name = accounts.unique_name()
    try:
        created = run(wrappers, "useradd.py", name, env=env)
        assert created.returncode == 0, created.stderr
        changed = run(wrappers, "chpasswd.py", name, stdin=b"Hostile-env-pw1\n", env=env)
        assert changed.returncode == 0, changed.stderr
        assert accounts.unix_password_matches(name, "Hostile-env-pw1")
        samba = run(wrappers, "smbpasswd.py", name, stdin=b"Hostile-env-pw1\n", env=env)
        assert samba.returncode == 0, samba.stderr
        assert name in accounts.samba_entries(wrappers)
        pool = run(wrappers, "vgdisplay.py", env=env)
        assert pool.returncode == 0, pool.stderr
        deleted = run(wrappers, "deluser.py", name, env=env)
        assert deleted.returncode == 0, deleted.stderr
        assert not accounts.exists(name)
    finally:
        accounts.remove_backup_account(wrappers, name)
    assert not hostile_env.marker.exists(), hostile_env.marker.read_text()
    assert not (hostile_env.root / "pycache").exists()


# Syslog: one line per outcome


def logged_lines(install, process, since):
    """The syslog lines of one finished wrapper process, among those that
    arrived after index ``since`` (pids are reused over a long session: an
    older process with the same pid must not count).

    A sentinel datagram sent after the process ended arrives after all of
    the process's own: once it is in, every line the process wrote is.
    """
    sentinel = f"sentinel-{accounts.unique_name()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.sendto(sentinel.encode(), str(install.settings["SYSLOG_ADDRESS"]))
    deadline = time.monotonic() + WAIT_SECONDS
    while not any(sentinel in line for line in install.syslog):
        assert time.monotonic() < deadline, "the syslog listener stopped receiving"
        time.sleep(0.02)
    return [line for line in install.syslog[since:] if f"backupmanagement[{process.pid}]:" in line]


def run_logged(install, wrapper, *args, stdin=b""):
    since = len(install.syslog)
    process = subprocess.Popen(
        [str(install.path / wrapper), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    _stdout, err = process.communicate(stdin, timeout=120)
    return process.returncode, err.decode(), logged_lines(install, process, since)


@pytest.mark.parametrize("wrapper", PRESENT)
def test_every_refusal_writes_one_syslog_line(wrappers, wrapper):
    code, err, lines = run_logged(wrappers, wrapper, "--help", "../../etc")
    assert code == 2, err
    assert len(lines) == 1, lines
    assert f"{wrapper}: refused ['--help', '../../etc']" in lines[0]


def test_every_account_action_writes_one_syslog_line_without_the_password(wrappers):
    name = accounts.unique_name()
    password = "Never-in-the-log-7"
    try:
        steps = [
            ("useradd.py", b"", "ok"),
            ("chpasswd.py", password.encode() + b"\n", "ok"),
            ("smbpasswd.py", password.encode() + b"\n", "ok"),
            ("useradd.py", b"", "refused"),
            ("deluser.py", b"", "ok"),
        ]
        for wrapper, stdin, outcome in steps:
            code, err, lines = run_logged(wrappers, wrapper, name, stdin=stdin)
            assert code == (0 if outcome == "ok" else 2), err
            assert len(lines) == 1, lines
            assert f"{wrapper}: {outcome} ['{name}']" in lines[0]
        assert not any(password in line for line in wrappers.syslog)
    finally:
        accounts.remove_backup_account(wrappers, name)


def test_a_failed_action_writes_one_syslog_line(wrappers, victim):
    uid = pwd.getpwnam(victim).pw_uid
    name = accounts.unique_name()
    with accounts.settings_override(wrappers, ACCOUNT_UID_MIN=uid, ACCOUNT_UID_MAX=uid):
        code, err, lines = run_logged(wrappers, "useradd.py", name)
    assert code == 1, err
    assert len(lines) == 1, lines
    assert f"useradd.py: failed ['{name}']" in lines[0]


# Locks: operations on one volume never interleave


@contextlib.contextmanager
def holding_volume_lock(install, name):
    """Take name's volume lock from this process, as another wrapper would."""
    saved = config._settings
    config._settings = types.SimpleNamespace(
        LOCK_DIR=install.settings["LOCK_DIR"], LOCK_TIMEOUT_SECONDS=1
    )
    try:
        with locks.volume_lock(name):
            yield
    finally:
        config._settings = saved


def lock_wrappers():
    wanted = ["chpasswd.py", "smbpasswd.py", "deluser.py", "mkdir.py", "lvcreate.py"]
    return [wrapper for wrapper in wanted if wrapper in PRESENT]


@pytest.mark.parametrize("wrapper", lock_wrappers())
def test_a_held_volume_lock_makes_the_wrapper_give_up_and_change_nothing(wrappers, victim, wrapper):
    args = [victim, "1"] if wrapper == "lvcreate.py" else [victim]
    with (
        accounts.settings_override(wrappers, LOCK_TIMEOUT_SECONDS=1),
        holding_volume_lock(wrappers, victim),
    ):
        before = accounts.host_state(wrappers, [victim])
        result = run(wrappers, wrapper, *args, stdin=b"Locked-out-pw1\n")
        line = refusal_line(result, wrapper)
        assert f"another operation on {victim}'s volume is still running" in line
        assert not accounts.changes(before, accounts.host_state(wrappers, [victim]))


def holds_file_in(pid, directory):
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except FileNotFoundError:
        return False
    for fd in fds:
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(f"{directory}/"):
                return True
    return False


def test_a_wrapper_waits_for_the_lock_then_acts(wrappers, victim):
    lock_dir = wrappers.settings["LOCK_DIR"]
    with accounts.settings_override(wrappers, LOCK_TIMEOUT_SECONDS=WAIT_SECONDS):
        with holding_volume_lock(wrappers, victim):
            process = subprocess.Popen(
                [str(wrappers.path / "chpasswd.py"), victim],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=ENV,
            )
            process.stdin.write(b"After-the-lock-pw1\n")
            process.stdin.close()
            deadline = time.monotonic() + WAIT_SECONDS
            while not holds_file_in(process.pid, lock_dir):
                assert process.poll() is None, process.stderr.read()
                assert time.monotonic() < deadline, "the wrapper never reached the lock"
                time.sleep(0.02)
            # It is at the lock, validation done: nothing may have happened yet.
            assert process.poll() is None
            assert not accounts.unix_password_matches(victim, "After-the-lock-pw1")
        assert process.wait(timeout=WAIT_SECONDS) == 0, process.stderr.read()
    process.stdout.close()
    process.stderr.close()
    assert accounts.unix_password_matches(victim, "After-the-lock-pw1")


# The lock directory is root's alone


@pytest.fixture
def world_writable_dir(wrappers):
    """A sticky, world-writable directory like /run/lock, inside the session."""
    path = wrappers.base / f"public-{os.urandom(3).hex()}"
    path.mkdir()
    os.chmod(path, 0o1777)
    return path


def test_a_lock_directory_made_first_by_another_user_is_refused(
    wrappers, victim, world_writable_dir
):
    planted = world_writable_dir / "backupmanagement"
    nobody = pwd.getpwnam("nobody")
    # What any local user could do before root first needs the lock: create
    # the directory and hold the pool lock in it.
    subprocess.run(
        ["runuser", "-u", "nobody", "--", "mkdir", "-m", "0777", str(planted)], check=True
    )
    assert os.stat(planted).st_uid == nobody.pw_uid
    with accounts.settings_override(wrappers, LOCK_DIR=str(planted)):
        before = accounts.host_state(wrappers, [victim])
        result = run(wrappers, "chpasswd.py", victim, stdin=b"Planted-lock-pw1\n")
        line = refusal_line(result, "chpasswd.py")
        assert f"unsafe lock directory {planted}" in line
        assert "owned by root with mode 0700" in line
        assert not accounts.changes(before, accounts.host_state(wrappers, [victim]))
    assert os.listdir(planted) == []
    assert not accounts.unix_password_matches(victim, "Planted-lock-pw1")


def test_a_lock_directory_that_is_a_symlink_is_refused_and_its_target_untouched(
    wrappers, victim, world_writable_dir
):
    target = wrappers.base / f"elsewhere-{os.urandom(3).hex()}"
    target.mkdir(mode=0o700)
    link = world_writable_dir / "backupmanagement"
    link.symlink_to(target)
    with accounts.settings_override(wrappers, LOCK_DIR=str(link)):
        before = accounts.host_state(wrappers, [victim])
        result = run(wrappers, "chpasswd.py", victim, stdin=b"Linked-lock-pw1\n")
        line = refusal_line(result, "chpasswd.py")
        assert f"unsafe lock directory {link}" in line
        assert not accounts.changes(before, accounts.host_state(wrappers, [victim]))
    assert os.listdir(target) == []
    assert link.is_symlink()


def test_the_lock_directory_is_made_root_only(wrappers, victim):
    fresh = wrappers.base / f"fresh-locks-{os.urandom(3).hex()}"
    with accounts.settings_override(wrappers, LOCK_DIR=str(fresh)):
        result = run(wrappers, "chpasswd.py", victim, stdin=b"Fresh-lock-pw12\n")
        assert result.returncode == 0, result.stderr
    info = os.lstat(fresh)
    assert (info.st_uid, info.st_mode & 0o7777) == (0, 0o700)
    assert sorted(os.listdir(fresh)) == [f"volume-{victim}.lock"]


def test_a_global_lock_is_taken_by_name_and_a_second_taker_is_refused(tmp_path):
    """A replica pull and a promote share the "replica-pull" lock: while one
    holds it the other is told why and gets nothing; a name outside the fixed
    list is refused before any lock file is made."""
    lock_dir = tmp_path / "locks"
    saved = config._settings
    config._settings = types.SimpleNamespace(LOCK_DIR=str(lock_dir), LOCK_TIMEOUT_SECONDS=1)
    try:
        with pytest.raises(ValueError, match="unknown global lock"):
            locks.global_lock("../elsewhere", "busy")
        assert not lock_dir.exists()
        with (
            locks.global_lock("replica-pull", "a pull is running", timeout=0),
            pytest.raises(Refusal, match="a pull is running"),
            locks.global_lock("replica-pull", "a pull is running", timeout=0),
        ):
            pass
        with locks.global_lock("replica-pull", "a pull is running", timeout=0):
            pass
        assert sorted(os.listdir(lock_dir)) == ["replica-pull.lock"]
    finally:
        config._settings = saved
