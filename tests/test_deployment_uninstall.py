"""bin/uninstall with the portal running, as the README's cron steps leave
it: it removes the service user's crontab, stops the daemon and the worker,
and only then removes files and the account; it says what it keeps and why,
and a link planted where it would remove refuses everything."""

import os
import shutil
import signal
import subprocess
import threading
import time

import pytest

from support import accounts, deployment

pytestmark = [pytest.mark.root, pytest.mark.slow]

CRONTABS = "/var/spool/cron/crontabs"


@pytest.fixture
def running():
    """A fresh installation with the daemon, the worker and the crontab of
    deploy/crontab.example, as an admin who followed the README has them."""
    installation = deployment.create()
    worker = None
    try:
        installed = installation.install()
        assert installed.returncode == 0, installed.stderr
        started = installation.start_daemon()
        assert started.returncode == 0, started.stderr
        worker = installation.start_worker()
        # Reaped as soon as it ends: a zombie would still count as the
        # service user's process for userdel.
        threading.Thread(target=worker.wait, daemon=True).start()
        subprocess.run(
            ["crontab", "-u", installation.user, str(deployment.REPO / "deploy/crontab.example")],
            check=True,
        )
        deadline = time.monotonic() + 30
        while not (installation.daemon_pid() and installation.socket.exists()):
            assert time.monotonic() < deadline, "the daemon did not start"
            time.sleep(0.2)
        installation.worker = worker
        yield installation
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
        deployment.destroy(installation)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def uninstall(installation, *extra):
    return subprocess.run(
        [str(deployment.REPO / "bin" / "uninstall"), *installation.options, *extra],
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_purge_with_everything_running_stops_it_first_then_removes_it_all(running):
    layout = running.layout()
    daemon = running.daemon_pid()
    # What the wrappers make as they run: their lock directory, the
    # snapshots' root (both root's).
    layout.lock_dir.mkdir(mode=0o700)
    (layout.lock_dir / "pool.lock").write_text("")
    layout.snapshots_root.mkdir(mode=0o755)
    removed = uninstall(running, "--purge")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    lines = removed.stdout.splitlines()
    say = [line.removeprefix("bin/uninstall: ") for line in lines]
    assert say[0] == f"removed the crontab of {running.user} (cron starts none of its jobs now)"
    assert say[1] == "stopped the FastCGI daemon"
    # Then whatever else runs as the service user (the worker, a child the
    # daemon had not reaped yet), all before the first file goes.
    first_file = say.index(f"removed {layout.sudoers_file}")
    stopped = say[2:first_file]
    assert all(line.endswith(f"which ran as {running.user}") for line in stopped), stopped
    assert any(f"(pid {running.worker.pid})" in line for line in stopped), stopped
    for expected in (
        f"removed {layout.lock_dir}",
        f"removed {layout.data_dir}",
        f"removed {layout.log_dir}",
        f"removed the service user {running.user}",
        f"removed {layout.snapshots_root} (empty)",
        f"removed {layout.pool} (empty)",
    ):
        assert expected in say, removed.stdout
    assert say[-2] == (
        f"kept {layout.directories_root}: the volumes' mount points; remove it once every "
        "volume is deleted"
    )
    assert say[-1].startswith(f"kept group {running.managed_group}: the backup accounts")
    assert not alive(daemon)
    assert running.worker.wait(timeout=10) is not None
    assert not os.path.exists(f"{CRONTABS}/{running.user}")
    for path in (
        layout.sudoers_file,
        layout.wrappers_dir,
        layout.config,
        layout.lock_dir,
        layout.snapshots_root,
        layout.pool,
        layout.run_dir,
    ):
        assert not os.path.lexists(path), path
    assert deployment.subprocess.run(["id", running.user], capture_output=True).returncode


def test_without_purge_the_data_stays_and_it_says_why(running):
    layout = running.layout()
    image = layout.pool / "someone.img"
    image.write_bytes(b"")
    removed = uninstall(running)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    out = removed.stdout
    assert f"kept {layout.pool}: it holds volume images (the backups' data)" in out
    reason = "the database, RRDs and logs (--purge removes them)"
    assert f"kept {layout.data_dir}: {reason}" in out
    assert f"kept {layout.log_dir}: {reason}" in out
    assert image.exists()
    assert (layout.data_dir / "db.sqlite3").exists()
    assert not layout.sudoers_file.exists()
    assert not layout.wrappers_dir.exists()
    # The account stays, but nothing of it runs any more.
    assert running.worker.wait(timeout=10) is not None
    assert subprocess.run(["pgrep", "-u", running.user], capture_output=True).returncode == 1
    image.unlink()


def test_a_link_where_it_would_remove_refuses_before_stopping_anything(running):
    layout = running.layout()
    victim = running.prefix / "victim"
    victim.mkdir()
    (victim / "keep").write_text("root's\n")
    running.as_service_user("rm", "-r", str(layout.rrd_dir))
    planted = running.as_service_user("ln", "-s", str(victim), str(layout.rrd_dir))
    assert planted.returncode == 0
    refused = uninstall(running, "--purge")
    assert refused.returncode != 0
    assert refused.stderr == (
        f"bin/uninstall: {layout.rrd_dir} is a symbolic link: refusing to change anything\n"
    )
    assert refused.stdout == ""
    assert alive(running.daemon_pid())
    assert running.worker.poll() is None
    assert os.path.exists(f"{CRONTABS}/{running.user}")
    assert layout.sudoers_file.exists()
    assert (victim / "keep").read_text() == "root's\n"
    os.unlink(layout.rrd_dir)
    shutil.rmtree(victim)


def test_a_wrapper_running_as_root_for_the_service_user_is_waited_for_not_signalled():
    """sudo relays signals to the wrapper it runs: stopping the service
    user's processes must not cut a wrapper's operation short."""
    system = deployment.installer_part("system")
    with accounts.outsider() as account:
        uid = account.pw_uid
        # As the account, and as sudo runs a wrapper for it (real uid the
        # account's, effective uid root).
        worker = subprocess.Popen(["setpriv", f"--reuid={uid}", "sleep", "60"])
        wrapper = subprocess.Popen(["setpriv", f"--ruid={uid}", "sleep", "2"])
        for process in (worker, wrapper):
            threading.Thread(target=process.wait, daemon=True).start()
        try:
            deadline = time.monotonic() + 10
            while len(system.processes_of(uid)) < 2:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            stopped = system.stop_processes(uid, grace_seconds=5, wrapper_seconds=10)
            assert stopped == {worker.pid: "sleep"}
            assert worker.wait(timeout=5) == -signal.SIGTERM
            assert wrapper.wait(timeout=5) == 0  # ran to its end
            assert system.processes_of(uid) == {}
        finally:
            for process in (worker, wrapper):
                if process.poll() is None:
                    process.kill()
