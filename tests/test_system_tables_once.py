"""The all-volumes wrappers read each system table once per run (issue 25):
the account database (/etc/passwd) and the mount table
(/proc/self/mountinfo) are opened once whatever the number of volumes, as
strace counts them, and the scheduled snapshot run starts no process per
volume but the change measurement's ``btrfs send``. The rules an account
must pass are the one-user path's, checked against the table read once."""

import collections
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import require_tool

from support import accounts, backup_tools
from support.snapshots import clock, snapshot_folder, volume

pytestmark = pytest.mark.root

VOLUMES = 3
# pid  syscall(args) = result, as strace -f -qq writes it.
LINE = re.compile(r"^(\d+) +(\w+)\((.*)\) += (-?\d+)")


def traced(wrappers, name, *args):
    """Run a wrapper (as the privileged client does) under strace; the
    result and, per syscall, the (first argument, pid) of each call that
    succeeded in the wrapper's own processes (forks included, commands it
    started excluded)."""
    require_tool("strace")
    with tempfile.NamedTemporaryFile(mode="r", suffix=".strace") as trace:
        result = subprocess.run(
            ["strace", "-f", "-qq", "-s", "256", "-o", trace.name,
             "-e", "trace=openat,execve", "-e", "signal=none",
             str(wrappers.path / name), *args],
            capture_output=True, text=True, timeout=600, check=False,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        )  # fmt: skip
        calls = []
        for line in trace:
            found = LINE.match(line)
            if found and int(found.group(4)) >= 0:
                pid, syscall, arguments = int(found.group(1)), found.group(2), found.group(3)
                quoted = re.findall(r'"((?:[^"\\]|\\.)*)"', arguments)
                calls.append((pid, syscall, quoted))
    wrapper_pid = calls[0][0]
    started = {pid for pid, syscall, _ in calls if syscall == "execve" and pid != wrapper_pid}
    own = collections.defaultdict(list)
    executed = []
    for pid, syscall, quoted in calls:
        if syscall == "execve" and pid != wrapper_pid:
            executed.append(quoted[1:])  # argv as strace shows it
        elif pid not in started:
            own[syscall].append(quoted[-1] if syscall == "openat" else quoted[0])
    return result, own, executed


def opened(own, path):
    return sum(1 for opened_path in own["openat"] if opened_path == path)


def at_start(wrappers, path):
    """How often path is opened by a wrapper that reads no account:
    the interpreter's start may read the account database itself (site
    setup, depending on the host), once, whatever the volumes."""
    result, own, _ = traced(wrappers, "lvdisplay.py")
    assert result.returncode == 0, result.stderr
    return opened(own, path)


def test_the_all_volumes_scan_reads_the_account_database_once(wrappers):
    with (
        backup_tools.backup_volume(wrappers) as (first, _),
        backup_tools.backup_volume(wrappers) as (second, _),
        backup_tools.backup_volume(wrappers) as (third, _),
    ):
        result, own, _ = traced(wrappers, "fetch_backups.py")
    assert result.returncode == 0, result.stderr
    users = {report["user"] for report in json.loads(result.stdout)["volumes"]}
    assert {first, second, third} <= users
    assert opened(own, "/etc/passwd") == at_start(wrappers, "/etc/passwd") + 1
    assert opened(own, "/etc/group") == 1
    assert opened(own, "/proc/self/mountinfo") == 1


def test_the_scan_of_all_volumes_keeps_the_one_user_rules(wrappers):
    """A member of the managed group outside the uid range, with a volume
    folder, is refused alone and left out of the all-volumes scan, for the
    same reason; nothing on the host changes."""
    low, high = wrappers.settings["ACCOUNT_UID_MIN"], wrappers.settings["ACCOUNT_UID_MAX"]
    uid = accounts.free_uid(high + 1, high + 5000)
    with accounts.outsider(uid=uid, group=wrappers.group) as entry:
        assert not low <= entry.pw_uid <= high
        folder = Path(wrappers.settings["DIRECTORIES_ROOT"]) / entry.pw_name
        folder.mkdir(mode=0o700)
        try:
            os.chown(folder, entry.pw_uid, entry.pw_gid)
            before = accounts.host_state(wrappers, [entry.pw_name])
            alone = wrappers.run("fetch_backups.py", entry.pw_name)
            assert alone.returncode == 2
            assert alone.stdout == ""
            assert "is not a backup account (uid" in alone.stderr
            every = wrappers.run("fetch_backups.py")
            assert every.returncode == 0, every.stderr
            users = {report["user"] for report in json.loads(every.stdout)["volumes"]}
            assert entry.pw_name not in users
            assert accounts.changes(before, accounts.host_state(wrappers, [entry.pw_name])) == []
        finally:
            folder.rmdir()


def test_the_snapshot_run_reads_each_table_once_and_starts_no_process_per_volume(wrappers):
    require_tool("btrfs")
    with volume(wrappers) as one, volume(wrappers) as two, volume(wrappers) as three:
        users = [entry.pw_name for entry in (one, two, three)]
        with clock(wrappers, "2026-01-05T10:05:00Z"):
            first, first_own, first_started = traced(wrappers, "snapshot-create.py")
        with clock(wrappers, "2026-01-05T10:20:00Z"):
            second, second_own, second_started = traced(wrappers, "snapshot-create.py")
        for result in (first, second):
            assert result.returncode == 0, result.stderr
            volumes = json.loads(result.stdout)["volumes"]
            for user in users:
                assert volumes[user]["error"] is None, volumes[user]
                assert volumes[user]["supported"] is True
        start = at_start(wrappers, "/etc/passwd")
        for own in (first_own, second_own):
            assert opened(own, "/etc/passwd") == start + 1
            assert opened(own, "/proc/self/mountinfo") == 1
        # No mount(8), no `btrfs subvolume snapshot`: a first snapshot starts
        # nothing; a second one only the sender its change is measured from.
        assert first_started == []
        commands = [[os.path.basename(argv[0]), argv[1]] for argv in second_started]
        assert commands == [["btrfs", "send"]] * VOLUMES
        for user in users:
            taken = sorted(os.listdir(snapshot_folder(wrappers, user)))
            assert taken == ["@GMT-2026.01.05-10.05.00", "@GMT-2026.01.05-10.20.00"]
            for name in taken:
                flag = subprocess.run(
                    ["btrfs", "property", "get", "-ts",
                     str(snapshot_folder(wrappers, user) / name), "ro"],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                assert flag.stdout.strip() == "ro=true"
        # The private mounts are gone again.
        leftovers = [name for name in os.listdir(wrappers.settings["LOCK_DIR"]) if "mnt-" in name]
        assert leftovers == []
