"""The account wrappers for real: useradd.py, chpasswd.py, smbpasswd.py,
deluser.py against the host's account database and the session's private
Samba passdb (checked with a real smbd), and rm-timemachine.py on a mounted
volume."""

import grp
import json
import os
import pwd
import subprocess
import time
from pathlib import Path

import pytest

from support import accounts, samba_server

pytestmark = pytest.mark.root

REFUSED = 2
FAILED = 1


@pytest.fixture(scope="module")
def samba(wrappers):
    with samba_server.running(wrappers) as server:
        yield server


def refused(result, name, why):
    assert result.returncode == REFUSED, (result.returncode, result.stderr)
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"{name}: refused: ")
    assert why in result.stderr
    assert result.stdout == ""


def wait_until_no_process_runs_as(name, timeout=30):
    uid = str(pwd.getpwnam(name).pw_uid)
    deadline = time.monotonic() + timeout
    while True:
        busy = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                uids = next(
                    line.split()[1:4]
                    for line in status.read_text().splitlines()
                    if line.startswith("Uid:")
                )
            except (OSError, StopIteration):
                continue
            if uid in uids:
                busy.append(status.parent.name)
        if not busy:
            return
        assert time.monotonic() < deadline, f"processes {busy} still run as {name}"
        time.sleep(0.05)


def set_password(wrappers, wrapper, name, password):
    result = wrappers.run(wrapper, name, input_text=password + "\n")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"user": name}


# useradd.py


def test_useradd_creates_a_backup_account_that_cannot_log_in(wrappers):
    name = accounts.unique_name()
    try:
        result = wrappers.run("useradd.py", name)
        assert result.returncode == 0, result.stderr
        entry = pwd.getpwnam(name)
        assert json.loads(result.stdout) == {"user": name, "uid": entry.pw_uid, "gid": entry.pw_gid}
        settings = wrappers.settings
        assert settings["ACCOUNT_UID_MIN"] <= entry.pw_uid <= settings["ACCOUNT_UID_MAX"]
        assert entry.pw_gid == grp.getgrnam(wrappers.group).gr_gid
        assert name in wrappers.managed_accounts()
        assert entry.pw_shell == "/usr/sbin/nologin"
        assert entry.pw_dir == f"{settings['DIRECTORIES_ROOT']}/{name}"
        assert not os.path.lexists(entry.pw_dir), "no home is created: mkdir.py makes it"
        assert not accounts.shadow_hash(name).startswith("$"), "no usable password yet"
        assert not subprocess.run(["getent", "group", name], capture_output=True).stdout
        for ranges in ("/etc/subuid", "/etc/subgid"):
            if os.path.exists(ranges):
                assert f"\n{name}:" not in "\n" + Path(ranges).read_text(), ranges
    finally:
        accounts.remove_backup_account(wrappers, name)


def test_useradd_refuses_an_existing_account_of_any_kind(wrappers, account):
    with accounts.outsider() as outsider:
        names = [outsider.pw_name, account]
        before = accounts.host_state(wrappers, names)
        for name in names:
            refused(wrappers.run("useradd.py", name), "useradd.py", "already exists")
        assert not accounts.changes(before, accounts.host_state(wrappers, names))


def test_useradd_refuses_system_and_service_account_names_even_when_absent(wrappers):
    # sshd and postgres are not installed here: their names are refused all
    # the same, so a backup account can't take the name a daemon will need.
    candidates = ("sshd", "postgres", "postfix", "mysql")
    absent = [name for name in candidates if not accounts.exists(name)]
    assert absent, "expected some well-known service accounts to be absent on this host"
    names = ["daemon", "nobody", "bin", "www-data", "backup", *absent]
    before = accounts.host_state(wrappers, names)
    for name in names:
        refused(wrappers.run("useradd.py", name), "useradd.py", "reserved for a system")
    assert not accounts.changes(before, accounts.host_state(wrappers, names))
    assert not any(accounts.exists(name) for name in absent)


def test_useradd_refuses_a_name_the_site_reserved(wrappers):
    name = accounts.unique_name()
    with accounts.settings_override(wrappers, RESERVED_NAMES=(name,)):
        before = accounts.host_state(wrappers, [name])
        refused(wrappers.run("useradd.py", name), "useradd.py", "reserved for a system")
        assert not accounts.changes(before, accounts.host_state(wrappers, [name]))
    assert not accounts.exists(name)


def test_useradd_refuses_when_the_managed_group_is_missing(wrappers):
    name = accounts.unique_name()
    missing = accounts.unique_name("bmg")
    with accounts.settings_override(wrappers, MANAGED_GROUP=missing):
        result = wrappers.run("useradd.py", name)
    refused(result, "useradd.py", f"the managed group {missing} does not exist")
    assert not accounts.exists(name)


def test_useradd_refuses_a_uid_range_reaching_system_accounts(wrappers):
    name = accounts.unique_name()
    with accounts.settings_override(wrappers, ACCOUNT_UID_MIN=500):
        result = wrappers.run("useradd.py", name)
    refused(result, "useradd.py", "system accounts' uid range")
    assert not accounts.exists(name)


def test_useradd_fails_cleanly_when_the_uid_range_is_full(wrappers, account):
    uid = pwd.getpwnam(account).pw_uid
    name = accounts.unique_name()
    with accounts.settings_override(wrappers, ACCOUNT_UID_MIN=uid, ACCOUNT_UID_MAX=uid):
        result = wrappers.run("useradd.py", name)
    assert result.returncode == FAILED, result.stderr
    assert result.stderr.startswith("useradd.py: failed: useradd failed: ")
    assert not accounts.exists(name)


# chpasswd.py


def test_chpasswd_sets_the_unix_password_and_the_old_one_stops_working(wrappers, account):
    set_password(wrappers, "chpasswd.py", account, "first-Passw0rd")
    assert accounts.unix_password_matches(account, "first-Passw0rd")
    set_password(wrappers, "chpasswd.py", account, "second-Passw0rd")
    assert accounts.unix_password_matches(account, "second-Passw0rd")
    assert not accounts.unix_password_matches(account, "first-Passw0rd")


def test_chpasswd_takes_colons_spaces_and_unicode_as_part_of_the_password(wrappers, account):
    password = " pa:ss:wörd €😀 "
    with accounts.outsider() as other:
        before = accounts.shadow_hash(other.pw_name)
        set_password(wrappers, "chpasswd.py", account, password)
        assert accounts.unix_password_matches(account, password)
        assert not accounts.unix_password_matches(account, password.strip())
        assert accounts.shadow_hash(other.pw_name) == before


@pytest.mark.parametrize(
    "tail",
    ["\n{victim}:Injected-pw1\n", "\r\n{victim}:Injected-pw1\n", "\x00\n{victim}:Injected-pw1"],
    ids=["newline", "crlf", "nul"],
)
def test_chpasswd_refuses_a_password_that_would_set_another_accounts(wrappers, account, tail):
    """The original wrote "user:password" to chpasswd: a password with a
    newline in it set a second account's password (root's, say)."""
    victim = accounts.create_backup_account(wrappers)
    try:
        set_password(wrappers, "chpasswd.py", victim, "victims-Passw0rd")
        set_password(wrappers, "chpasswd.py", account, "accounts-Passw0rd")
        names = [victim, account, "root"]
        before = accounts.host_state(wrappers, names)
        root_hash = accounts.shadow_hash("root")
        for target in (victim, "root"):
            password = "Harmless-pw1" + tail.format(victim=target)
            result = wrappers.run("chpasswd.py", account, input_text=password)
            refused(result, "chpasswd.py", "control character")
        assert not accounts.changes(before, accounts.host_state(wrappers, names))
        assert accounts.shadow_hash("root") == root_hash
        assert accounts.unix_password_matches(victim, "victims-Passw0rd")
        assert accounts.unix_password_matches(account, "accounts-Passw0rd")
        assert not accounts.unix_password_matches(victim, "Injected-pw1")
    finally:
        accounts.remove_backup_account(wrappers, victim)


@pytest.mark.parametrize("wrapper", ["chpasswd.py", "smbpasswd.py"])
def test_password_wrappers_refuse_what_the_tools_would_truncate(wrappers, account, wrapper):
    before = accounts.host_state(wrappers)
    # 85 three-byte characters: 255 bytes, one over smbpasswd's buffer.
    refused(wrappers.run(wrapper, account, input_text="€" * 85), wrapper, "too long")
    refused(wrappers.run(wrapper, account, input_text="a" * 257), wrapper, "8 to 256")
    refused(wrappers.run(wrapper, account, input_text="short"), wrapper, "8 to 256")
    assert not accounts.changes(before, accounts.host_state(wrappers))


def test_chpasswd_refuses_accounts_outside_the_managed_group(wrappers):
    uid = accounts.free_uid(
        wrappers.settings["ACCOUNT_UID_MIN"], wrappers.settings["ACCOUNT_UID_MAX"]
    )
    with (
        accounts.outsider(uid=uid) as in_range,
        accounts.outsider(group=wrappers.group, system=True) as system_member,
    ):
        names = [in_range.pw_name, system_member.pw_name]
        before = accounts.host_state(wrappers, names)
        for wrapper in ("chpasswd.py", "smbpasswd.py", "deluser.py"):
            result = wrappers.run(wrapper, in_range.pw_name, input_text="Some-Passw0rd\n")
            refused(result, wrapper, f"not in group {wrappers.group}")
            result = wrappers.run(wrapper, system_member.pw_name, input_text="Some-Passw0rd\n")
            refused(result, wrapper, "out of range")
        assert not accounts.changes(before, accounts.host_state(wrappers, names))


# smbpasswd.py, checked against a real smbd


def test_smbpasswd_sets_the_samba_password_and_the_old_one_stops_working(wrappers, account, samba):
    set_password(wrappers, "smbpasswd.py", account, "first-Samba-pw1")
    entry = accounts.samba_entries(wrappers)[account]
    flags = entry.split("[", 1)[1].split("]", 1)[0]
    assert "U" in flags  # a normal user account
    assert "D" not in flags  # enabled
    assert samba.authenticates(account, "first-Samba-pw1")
    set_password(wrappers, "smbpasswd.py", account, " second:Sämba pw2 ")
    assert samba.authenticates(account, " second:Sämba pw2 ")
    assert not samba.authenticates(account, "first-Samba-pw1")
    assert not samba.authenticates(account, "second:Sämba pw2")
    # The Unix password is a separate thing, untouched.
    assert not accounts.unix_password_matches(account, " second:Sämba pw2 ")


def test_smbpasswd_refuses_a_newline_and_changes_nothing(wrappers, account, samba):
    set_password(wrappers, "smbpasswd.py", account, "Samba-Passw0rd")
    before = accounts.host_state(wrappers)
    result = wrappers.run("smbpasswd.py", account, input_text="Other-Passw0rd\nOther-Passw0rd\n")
    refused(result, "smbpasswd.py", "control character")
    assert not accounts.changes(before, accounts.host_state(wrappers))
    assert samba.authenticates(account, "Samba-Passw0rd")
    assert not samba.authenticates(account, "Other-Passw0rd")


# deluser.py


def test_deluser_removes_the_samba_entry_and_the_account(wrappers, account, samba):
    set_password(wrappers, "smbpasswd.py", account, "Samba-Passw0rd")
    assert samba.authenticates(account, "Samba-Passw0rd")
    wait_until_no_process_runs_as(account)  # smbd's child for that session ends
    result = wrappers.run("deluser.py", account)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"user": account}
    assert not accounts.exists(account)
    assert account not in accounts.samba_entries(wrappers)
    assert not samba.authenticates(account, "Samba-Passw0rd")


def test_deluser_without_a_samba_entry(wrappers, account):
    assert account not in accounts.samba_entries(wrappers)
    result = wrappers.run("deluser.py", account)
    assert result.returncode == 0, result.stderr
    assert not accounts.exists(account)


def test_deluser_refuses_while_the_user_has_a_volume(wrappers, account):
    created = wrappers.run("lvcreate.py", account, "1")
    assert created.returncode == 0, created.stderr
    try:
        before = accounts.host_state(wrappers)
        refused(wrappers.run("deluser.py", account), "deluser.py", "still has a volume")
        assert not accounts.changes(before, accounts.host_state(wrappers))
        assert accounts.exists(account)
    finally:
        removed = wrappers.run("lvremove.py", account)
        assert removed.returncode == 0, removed.stderr
    assert wrappers.run("deluser.py", account).returncode == 0
    assert not accounts.exists(account)


def test_deluser_refuses_while_the_account_runs_a_process(wrappers, account):
    """userdel would refuse half-way, after the Samba entry was removed."""
    set_password(wrappers, "smbpasswd.py", account, "Samba-Passw0rd")
    entry = pwd.getpwnam(account)
    sleeper = subprocess.Popen(
        ["sleep", "600"], user=entry.pw_uid, group=entry.pw_gid, extra_groups=[]
    )
    try:
        before = accounts.host_state(wrappers)
        refused(wrappers.run("deluser.py", account), "deluser.py", "still in use")
        assert not accounts.changes(before, accounts.host_state(wrappers))
        assert account in accounts.samba_entries(wrappers)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert wrappers.run("deluser.py", account).returncode == 0
    assert not accounts.exists(account)


# rm-timemachine.py


def make_bundle(tmpfs_volume, owner, name, files=3):
    entry = pwd.getpwnam(owner)
    bundle = tmpfs_volume / name
    for directory in (bundle, bundle / "bands", bundle / "bands" / "deeper"):
        directory.mkdir()
        os.chown(directory, entry.pw_uid, entry.pw_gid)
    for index in range(files):
        for directory in (bundle, bundle / "bands", bundle / "bands" / "deeper"):
            path = directory / f"f{index}"
            path.write_text("band")
            os.chown(path, entry.pw_uid, entry.pw_gid)
    return bundle


def test_rm_timemachine_removes_only_top_level_bundles(wrappers, account, tmpfs_volume):
    make_bundle(tmpfs_volume, account, "Mac.sparsebundle")
    make_bundle(tmpfs_volume, account, "Mac 2.backupbundle")
    keep = [
        make_bundle(tmpfs_volume, account, "other-dir"),
        make_bundle(tmpfs_volume, account, "other-dir/Nested.sparsebundle"),
        tmpfs_volume / "a-file.sparsebundle",
        tmpfs_volume / "notes.txt",
    ]
    for path in keep[2:]:
        path.write_text("keep")
    result = wrappers.run("rm-timemachine.py", account)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "user": account,
        "removed": ["Mac 2.backupbundle", "Mac.sparsebundle"],
        "more_removed": 0,
    }
    assert sorted(p.name for p in tmpfs_volume.iterdir()) == [
        "a-file.sparsebundle",
        "notes.txt",
        "other-dir",
    ]
    assert all(path.exists() for path in keep)
    again = wrappers.run("rm-timemachine.py", account)
    assert json.loads(again.stdout)["removed"] == []


def test_rm_timemachine_acts_as_the_user(wrappers, account, tmpfs_volume):
    """A root-owned directory inside a bundle is out of the user's reach, so
    the removal fails there: root itself would have removed it."""
    bundle = make_bundle(tmpfs_volume, account, "Mac.sparsebundle")
    guarded = bundle / "bands" / "root-owned"
    guarded.mkdir(mode=0o755)
    (guarded / "band").write_text("root's")
    result = wrappers.run("rm-timemachine.py", account)
    assert result.returncode == FAILED
    assert "Permission denied" in result.stderr
    assert (guarded / "band").read_text() == "root's"


def test_rm_timemachine_stops_at_the_entry_bound_and_continues_when_run_again(
    wrappers, account, tmpfs_volume
):
    make_bundle(tmpfs_volume, account, "Mac.sparsebundle", files=10)
    with accounts.settings_override(wrappers, SCAN_MAX_ENTRIES=12):
        result = wrappers.run("rm-timemachine.py", account)
    assert result.returncode == FAILED
    assert "stopped (too many entries)" in result.stderr
    assert "run it again" in result.stderr
    assert (tmpfs_volume / "Mac.sparsebundle").exists()
    result = wrappers.run("rm-timemachine.py", account)
    assert result.returncode == 0, result.stderr
    assert not (tmpfs_volume / "Mac.sparsebundle").exists()


def test_rm_timemachine_refuses_an_unmounted_volume(wrappers, account):
    assert wrappers.run("mkdir.py", account).returncode == 0
    mount_point = Path(wrappers.settings["DIRECTORIES_ROOT"]) / account
    try:
        (mount_point / "Mac.sparsebundle").mkdir()
        before = accounts.host_state(wrappers)
        refused(wrappers.run("rm-timemachine.py", account), "rm-timemachine.py", "not mounted")
        assert not accounts.changes(before, accounts.host_state(wrappers))
    finally:
        (mount_point / "Mac.sparsebundle").rmdir()
        mount_point.rmdir()
