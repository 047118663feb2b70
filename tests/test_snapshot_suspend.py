"""Deferred deletion, privileged side, on a real btrfs volume: suspend.py
unmounts and locks logons, resume.py undoes it, lvremove.py waits for the
snapshots' protection to end, and only root's own tool at a terminal
(destroy-protected.py, not in sudoers) destroys protected snapshots early."""

import json
import subprocess
from pathlib import Path

import pytest

from support import accounts
from support import snapshots as snap
from support.snapshots import run_tool_at_terminal
from support.storage import mount_options, mount_point, ok, refused

pytestmark = pytest.mark.root

PASSWORD = "Suspend-Passw0rd"
TAKEN = "2026-03-02T08:00:00Z"


@pytest.fixture
def protected(wrappers):
    """A volume with passwords and one protected snapshot."""
    with snap.volume(wrappers) as entry:
        user = entry.pw_name
        for wrapper in ("chpasswd.py", "smbpasswd.py"):
            result = wrappers.run(wrapper, user, input_text=PASSWORD + "\n")
            assert result.returncode == 0, result.stderr
        with snap.clock(wrappers, TAKEN):
            ok(wrappers, "snapshot-create.py", user)
        try:
            yield entry
        finally:
            accounts.remove_backup_account(wrappers, user)


def samba_flags(wrappers, user):
    line = accounts.samba_entries(wrappers)[user]
    return line.split("[", 1)[1].split("]", 1)[0]


def test_suspend_then_resume(wrappers, protected):
    user = protected.pw_name
    data, top = mount_point(wrappers, user), snap.top_point(wrappers, user)
    assert ok(wrappers, "suspend.py", user) == {"user": user}
    assert mount_options(data) is None
    assert mount_options(top) is None
    assert "D" in samba_flags(wrappers, user)
    assert accounts.shadow_hash(user).startswith("!")
    assert not accounts.unix_password_matches(user, PASSWORD)
    # Suspended, not destroyed: protection still holds.
    with snap.clock(wrappers, "2026-03-10T00:00:00Z"):
        assert "protected until 2026-03-16T08:00:00Z" in refused(wrappers, "lvremove.py", user)

    resumed = ok(wrappers, "resume.py", user)
    assert resumed == {"user": user, "mount_point": str(data)}
    assert snap.mounted_subvolume(data)[0] == "/data"
    assert "D" not in samba_flags(wrappers, user)
    assert accounts.unix_password_matches(user, PASSWORD)
    assert [
        s["name"] for s in ok(wrappers, "snapshot-list.py", user)["volumes"][user]["snapshots"]
    ] == ["@GMT-2026.03.02-08.00.00"]


def test_suspend_is_refused_while_the_volume_is_busy(wrappers, protected):
    user = protected.pw_name
    data = mount_point(wrappers, user)
    before = (accounts.shadow_hash(user), samba_flags(wrappers, user))
    holder = subprocess.Popen(["/usr/bin/sleep", "60"], cwd=data)
    try:
        assert "in use" in refused(wrappers, "suspend.py", user)
    finally:
        holder.kill()
        holder.wait()
    assert mount_options(data) is not None
    assert (accounts.shadow_hash(user), samba_flags(wrappers, user)) == before


def test_only_roots_tool_destroys_protected_snapshots_early(wrappers, protected):
    user = protected.pw_name
    tool = wrappers.path / "tools" / "destroy-protected.py"
    assert not (wrappers.path / "destroy-protected.py").exists()
    # Not suspended: refused before it asks.
    code, _, err = run_tool_at_terminal(wrappers, user, user)
    assert code == 2
    assert "suspend it first" in err
    ok(wrappers, "suspend.py", user)
    # Not at a terminal (a script, a pipe): refused.
    piped = subprocess.run(
        [str(tool), user], input=user + "\n", capture_output=True, text=True, check=False
    )
    assert piped.returncode == 2
    assert "at a terminal" in piped.stderr
    # The wrong name typed: refused, nothing destroyed.
    code, _, err = run_tool_at_terminal(wrappers, user, "someone-else")
    assert code == 2
    assert "did not match" in err
    with snap.clock(wrappers, "2026-03-03T00:00:00Z"):
        assert "protected until" in refused(wrappers, "lvremove.py", user)
        code, out, err = run_tool_at_terminal(wrappers, user, user)
    assert code == 0, err
    # It finishes what it starts: the volume is gone, and it says what remains.
    result = json.loads(out)
    assert result["user"] == user
    assert result["destroyed"] == ["@GMT-2026.03.02-08.00.00"]
    assert result["volume_removed"] is True
    assert result["remains"] == [
        f"the backup account {user} (its logons locked)",
        f"its empty mount point {mount_point(wrappers, user)}",
    ]
    assert any("destroy-protected.py: ok" in line and user in line for line in wrappers.syslog)
    assert ok(wrappers, "lvdisplay.py", user)["volume"] is None
    assert not (wrappers.base / "pool" / f"{user}.img").exists()
    assert not (wrappers.base / "state" / f"suspended-{user}").exists()
    # What the portal's destruction step then runs works from this state.
    assert "has no volume" in refused(wrappers, "lvremove.py", user)
    ok(wrappers, "rmdir.py", user)
    ok(wrappers, "deluser.py", user)


def test_the_tool_is_never_in_sudoers():
    sudoers = (Path(__file__).resolve().parent.parent / "deploy" / "sudoers.example").read_text()
    assert "snapshot-prune.py" in sudoers
    assert "destroy-protected" not in sudoers


@pytest.mark.parametrize("name", ["root", "daemon", "../x", "-rf", "", "a" * 33, "Alice"])
def test_the_tool_refuses_bad_names_before_asking(wrappers, name):
    before = snap.tree_state(wrappers.base / "pool")
    code, out, err = run_tool_at_terminal(wrappers, name, name)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "Type" not in err
    assert snap.tree_state(wrappers.base / "pool") == before


def test_the_tool_stopped_anywhere_finishes_when_run_again(wrappers):
    """destroy-protected.py killed (SIGKILL) at each of its step boundaries
    (FAULT_INJECTION, root's test setting), then run again: the volume ends
    destroyed, in the state the portal's destruction step expects."""
    points = 0
    for step in range(1, 60):
        with snap.volume(wrappers) as entry:
            user = entry.pw_name
            with snap.clock(wrappers, TAKEN):
                ok(wrappers, "snapshot-create.py", user)
            ok(wrappers, "suspend.py", user)
            with snap.clock(wrappers, TAKEN, FAULT_INJECTION={"step": step, "signal": "SIGKILL"}):
                code, _, err = run_tool_at_terminal(wrappers, user, user)
            if code == 0:
                break
            assert code == -9, err
            points += 1
            code, out, err = run_tool_at_terminal(wrappers, user, user)
            assert code == 0, err
            assert json.loads(out)["volume_removed"] is True
            assert ok(wrappers, "lvdisplay.py", user)["volume"] is None
            assert not (wrappers.base / "state" / f"suspended-{user}").exists()
            assert not (wrappers.base / "locks" / f"mnt-{user}").exists()
            ok(wrappers, "rmdir.py", user)
            ok(wrappers, "deluser.py", user)
    assert points >= 5
