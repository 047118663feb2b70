"""What the replica's key can do on the primary: through the forced command
(restrict,command=tools/snapshot-send.py) only ``list`` and ``send USER
SNAPSHOT [PARENT]`` of read-only snapshots of managed volumes. A shell,
other commands, paths, '..', options, another account's files, a writable
subvolume, forwarding: refused, the primary unchanged."""

import json
import re
import subprocess
from pathlib import Path

import pytest

from support import replica
from support import snapshots as snap
from support.storage import backup_account, ok

pytestmark = pytest.mark.root
T0 = "2026-03-02T00:00:00Z"
T1 = "2026-03-02T01:00:00Z"


@pytest.fixture(scope="module")
def two(wrappers):
    with replica.servers(wrappers) as servers:
        yield servers


@pytest.fixture(scope="module")
def taken(two):
    """A volume on the primary with two read-only snapshots, and a writable
    subvolume named like a snapshot beside them (made by hand, as root)."""
    with snap.volume(two.primary) as entry:
        names = []
        for when in (T0, T1):
            with snap.clock(two.primary, when):
                names.append(ok(two.primary, "snapshot-create.py", entry.pw_name)["snapshot"])
        writable = "@GMT-2026.03.01-23.00.00"
        private = two.primary.base / "private-top"
        private.mkdir(mode=0o700)
        folder = snap.snapshot_folder(two.primary, entry.pw_name)
        device = subprocess.run(
            ["findmnt", "-n", "-o", "SOURCE", str(snap.top_point(two.primary, entry.pw_name))],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        subprocess.run(["mount", "-o", "subvolid=5", device, str(private)], check=True)
        try:
            subprocess.run(
                ["btrfs", "subvolume", "create", str(private / "snapshots" / writable)],
                check=True, capture_output=True,
            )  # fmt: skip
        finally:
            subprocess.run(["umount", str(private)], check=True)
            private.rmdir()
        assert (folder / writable).is_dir()
        yield entry.pw_name, names, writable


def refused(result):
    lines = result.stderr.decode().strip().splitlines()
    assert result.returncode == 2, result
    assert result.stdout == b""
    assert lines[-1].startswith("snapshot-send.py: refused: "), lines
    return lines[-1]


def test_list_answers_every_volume_s_read_only_snapshots(two, taken):
    user, names, writable = taken
    result = two.ssh("list")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)["volumes"][user]
    assert [entry["name"] for entry in listed["snapshots"]] == names
    assert writable not in result.stdout.decode()


def test_send_streams_one_snapshot_whole_or_from_its_parent(two, taken):
    user, (first, second), _ = taken
    whole = two.ssh("send", user, first)
    assert whole.returncode == 0, whole.stderr
    assert whole.stdout.startswith(b"btrfs-stream\x00")
    incremental = two.ssh("send", user, second, first)
    assert incremental.returncode == 0, incremental.stderr
    assert incremental.stdout.startswith(b"btrfs-stream\x00")


@pytest.mark.parametrize(
    ("request_words", "why"),
    [
        ((), "no command was given"),
        (("sh",), "may only run"),
        (("/bin/sh", "-c", "id"), "may only run"),
        (("bash", "-i"), "may only run"),
        (("list;id",), "may only run"),
        (("list", "&&", "id"), "may only run"),
        (("list", "extra"), "may only run"),
        (("rm", "-rf", "/"), "may only run"),
        (("send",), "may only run"),
        (("send", "{user}", "{first}", "{second}", "x"), "may only run"),
        (("send", "--help", "x"), "invalid user name"),
        (("send", "-p", "{first}", "{second}"), "invalid user name"),
        (("send", "{user}", "-p", "{first}"), "invalid snapshot name"),
        (("send", "{user}", "{second}", "-p"), "invalid snapshot name"),
        (("send", "{user}", "../data"), "invalid snapshot name"),
        (("send", "{user}", "data"), "invalid snapshot name"),
        (("send", "{user}", "snapshots/{first}"), "invalid snapshot name"),
        (("send", "{user}", "/etc/shadow"), "invalid snapshot name"),
        (("send", "../{user}", "{first}"), "invalid user name"),
        (("send", "root", "{first}"), "protected account"),
        (("send", "nobody", "{first}"), "reserved"),
        (("send", "{user}", "@GMT-2026.03.02-09.00.00"), "there is no snapshot"),
        (("send", "{user}", "{writable}"), "not read-only"),
        (("send", "{user}", "{second}", "{writable}"), "not read-only"),
        (("send", "{user}", "{first}", "{second}"), "not older"),
        (("send", "{user}", "{first}", "{first}"), "not older"),
    ],
)
def test_anything_else_is_refused_and_changes_nothing(two, taken, request_words, why):
    user, (first, second), writable = taken
    words = [
        w.format(user=user, first=first, second=second, writable=writable) for w in request_words
    ]
    before = snap.tree_state(snap.top_point(two.primary, user))
    line = refused(two.ssh(*words))
    assert why in line
    assert snap.tree_state(snap.top_point(two.primary, user)) == before


def test_another_install_s_account_is_not_sent(two, taken):
    _, (first, _), _ = taken
    with backup_account(two.replica) as stranger:
        line = refused(two.ssh("send", stranger.pw_name, first))
    assert "not a backup account" in line


def test_a_subsystem_is_the_forced_command_too(two, taken):
    before = len(two.primary.syslog)
    result = two.ssh("sftp", options=("-s",))
    # sshd passes no stderr for a subsystem; the refusal is in the exit
    # status and the primary's syslog.
    assert result.returncode == 2
    assert result.stdout == b""
    logged = [line for line in two.primary.syslog[before:] if "snapshot-send.py" in line]
    assert len(logged) == 1
    assert "refused ['/usr/lib/openssh/sftp-server']" in logged[0]


def test_forwarding_and_a_terminal_are_refused(two, taken):
    forward = two.ssh(options=("-W", "127.0.0.1:22"))
    assert forward.returncode == 255
    assert b"prohibited" in forward.stderr
    terminal = two.ssh("list", options=("-tt",))
    # restrict: no pty; the command still runs, forced, and answers only.
    assert b"PTY allocation request failed" in terminal.stderr or terminal.returncode == 0


def test_openssh_comes_from_setup():
    """ssh (the replica's) and sshd (the primary's) are run outside the
    wrappers' command table, so their packages are checked here."""
    text = (Path(__file__).resolve().parent.parent / "bin" / "setup").read_text()
    required = re.search(r'^REQUIRED="([^"]*)"', text, flags=re.MULTILINE).group(1).split()
    for path, package in (("/usr/bin/ssh", "openssh-client"), ("/usr/sbin/sshd", "openssh-server")):
        owner = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True, check=True)
        assert owner.stdout.split(":")[0] == package
        assert package in required
