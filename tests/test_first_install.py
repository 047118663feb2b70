"""The README's production steps, as written, for a loop-file pool on a host
without systemd: the code blocks marked `<!-- first-install: PHASE -->` in
README.md are read from it and run for real, in order, from a fresh clone
of this tree, then the portal answers through its FastCGI socket,
check_prerequisities passes, a reboot (the socket directory gone from /run,
the daemon stopped) is survived by running root's @reboot line, and the
README's own uninstall steps leave nothing of the service behind.

What the test changes, and why, so it never touches what a running demo or
a real installation uses: every default path (/opt, /etc, /run, /var, /srv
.../backupmanagement) moves under a private prefix, the service user and
groups get generated names, bin/install's and bin/uninstall's options are
tests/support/deployment.py's (the same backend, loop files), bin/setup is
replaced by linking the shared virtualenv (it would need the network), and
the crontab lines are installed with `crontab -u USER -` instead of an
editor. The Samba, sshd and Apache steps change the machine's own daemons,
so they are not marked; the private Samba configuration they would make
comes from samba_config into the prefix, as tests/test_deployment_checks.py
does.
"""

import grp
import os
import pwd
import re
import shlex
import signal
import stat
import subprocess
from pathlib import Path
from textwrap import dedent

import pytest

from support import deployment
from support.waiting import wait_until

pytestmark = [pytest.mark.root, pytest.mark.slow]

REPO = deployment.REPO
MARKED = re.compile(
    r"^[ \t]*<!-- first-install: (\w+) -->[ \t]*\n[ \t]*\n((?:[ \t]*\n|[ \t]{4,}\S.*\n)+)", re.M
)
DEFAULT_PATH = re.compile(
    r"(?<![\w./-])/(?:opt|etc|run|srv|var/log|var/lib|var/www)/backup(?:management|pool)\b"
)
SERVICE_USER = re.compile(r"(?<![\w./-])backupmanagement(?![\w/.-])")


def readme_steps():
    """[(phase, commands)] of the README's marked blocks, in order."""
    text = (REPO / "README.md").read_text()
    return [(phase, dedent(block).strip()) for phase, block in MARKED.findall(text)]


def localize(commands, installation):
    """The README's commands for the private installation (module docstring)."""
    options = shlex.join(installation.options)
    lines = []
    for line in commands.splitlines():
        if re.search(r"\bbin/install ", line):
            assert "--backend loopfile --loopfile-pool" in line, line
            line = line[: line.index("bin/install ")] + f"bin/install {options}"
        elif re.search(r"\bbin/uninstall ", line):
            assert "--backend loopfile --loopfile-pool" in line, line
            assert line.endswith(" --purge"), line
            line = line[: line.index("bin/uninstall ")] + f"bin/uninstall {options} --purge"
        line = line.replace("<repository>", str(REPO))
        line = DEFAULT_PATH.sub(lambda match: f"{installation.prefix}{match[0]}", line)
        lines.append(SERVICE_USER.sub(installation.user, line))
    return "\n".join(lines)


def shell(script, installation):
    """script run by sh as root, as an admin at a root prompt would, the
    config file's private place standing in for its default."""
    return subprocess.run(
        ["/bin/sh", "-e", "-x", "-c", script],
        cwd="/",
        env={
            "PATH": deployment.PATH,
            "LANG": "C.UTF-8",
            "HOME": "/root",
            "BACKUP_CONFIG": str(installation.config),
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def cgi_fcgi(socket, path):
    """(status line, body) of a GET through the daemon's FastCGI socket, by
    cgi-fcgi (libfcgi-bin), as the web server would send it."""
    answer = subprocess.run(
        ["cgi-fcgi", "-bind", "-connect", str(socket)],
        env={
            "PATH": deployment.PATH,
            "REQUEST_METHOD": "GET",
            "SCRIPT_NAME": "/backup",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "443",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "localhost",
            "HTTPS": "on",
        },
        capture_output=True,
        timeout=60,
        check=False,
    )
    head, _, body = answer.stdout.partition(b"\r\n\r\n")
    headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n") if ": " in line)
    return headers.get("Status", "200 OK"), body.decode()


def service_processes(user):
    uid = pwd.getpwnam(user).pw_uid
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid and "Z" not in (entry / "stat").read_text():
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def test_readme_marks_the_loop_file_no_systemd_path_in_order():
    phases = [phase for phase, _ in readme_steps()]
    assert phases == [
        "install", "setup", "install", "check", "reboot", "crontab", "start", "uninstall",
    ]  # fmt: skip
    steps = dict(readme_steps())
    assert steps["setup"] == "sudo bin/setup"
    assert steps["reboot"].startswith("@reboot ")
    # The crontab the README shows is deploy/crontab.example's.
    example = (REPO / "deploy" / "crontab.example").read_text().splitlines()
    active = [line for line in example if line.strip() and not line.startswith("#")]
    assert steps["crontab"].splitlines() == active


@pytest.fixture
def installation():
    installation = deployment.create()
    try:
        yield installation
    finally:
        # Whatever the README's steps left if the test failed half-way.
        for pid in service_processes(installation.user) if _exists(installation.user) else []:
            os.kill(pid, signal.SIGKILL)
        subprocess.run(["crontab", "-u", installation.user, "-r"], capture_output=True)
        deployment.destroy(installation)


def _exists(user):
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def test_the_readmes_production_steps_run_as_written(installation):
    prefix, user = installation.prefix, installation.user
    steps = readme_steps()
    clone = prefix / "opt" / "backupmanagement" / "portal"

    # Steps 2-4: clone, (bin/setup), bin/install, one shell as at a prompt.
    script = []
    for phase, commands in steps[:3]:
        if phase == "setup":
            script.append(f"ln -s {shlex.quote(str(REPO / '.venv'))} .venv")
        else:
            script.append(localize(commands, installation))
    installed = shell("\n".join(script), installation)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert "created service user" in installed.stdout
    assert pwd.getpwnam(user).pw_shell == "/usr/sbin/nologin"
    assert os.stat(clone).st_uid == 0

    # Step 5's Samba, privately; and a default volume that fits the test's
    # 20 GiB pool, as an admin with a small pool would set.
    with installation.config.open("a") as config:
        config.write("default_disk_size = 1\n")
    samba = installation.manage(
        "samba_config",
        "--instance-dir",
        str(installation.samba_config.parent),
        "--output",
        str(installation.samba_config),
        as_root=True,
    )
    assert samba.returncode == 0, samba.stderr

    # Step 6: check_prerequisities passes.
    checked = shell(localize(dict(steps)["check"], installation), installation)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "FAIL" not in checked.stdout

    # Step 8 without systemd: the service user's crontab, then start now.
    crontab = subprocess.run(
        ["crontab", "-u", user, "-"],
        input=localize(dict(steps)["crontab"], installation) + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert crontab.returncode == 0, crontab.stderr
    started = shell(localize(dict(steps)["start"], installation), installation)
    assert started.returncode == 0, started.stdout + started.stderr
    wait_until(installation.socket.exists, "the FastCGI socket")
    assert cgi_fcgi(installation.socket, "/ping/") == ("200 OK", "pong")
    signin = cgi_fcgi(installation.socket, "/")
    assert signin[0].startswith("401"), signin  # alive, and closed without a sign-in
    worker_log = prefix / "var" / "log" / "backupmanagement" / "worker.log"
    wait_until(worker_log.exists, "the worker's log")

    # Without a syslog daemon (the test's private syslog is the wrappers'),
    # the installer turned the portal's syslog off: no traceback per record
    # and no note from each process (cron would mail every job's).
    fcgi_log = installation.fcgi_log.read_text() if installation.fcgi_log.exists() else ""
    assert "Logging error" not in fcgi_log
    if not Path("/dev/log").exists():
        assert 'syslog_address = ""' in installation.config.read_text()
        assert "unreachable" not in fcgi_log + checked.stderr + started.stderr

    # "After a reboot": the daemon gone and /run emptied; root's @reboot
    # line brings both back.
    pid = installation.daemon_pid()
    os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid), "the daemon to stop")
    subprocess.run(["rm", "-rf", "--", str(installation.run_dir)], check=True)
    reboot = localize(dict(steps)["reboot"], installation).removeprefix("@reboot ")
    rebooted = shell(reboot, installation)
    assert rebooted.returncode == 0, rebooted.stdout + rebooted.stderr
    info = os.stat(installation.run_dir)
    assert stat.S_IMODE(info.st_mode) == 0o2750
    assert pwd.getpwuid(info.st_uid).pw_name == user
    assert grp.getgrgid(info.st_gid).gr_name == "www-data"
    wait_until(installation.socket.exists, "the FastCGI socket after the reboot")
    assert cgi_fcgi(installation.socket, "/ping/") == ("200 OK", "pong")

    # Undoing the installation, the README's cron steps.
    undone = shell(localize(dict(steps)["uninstall"], installation), installation)
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert not _exists(user)
    assert not installation.sudoers.exists()
    assert not installation.run_dir.exists()
    assert not installation.config.exists()
    assert not (prefix / "opt" / "backupmanagement" / "wrappers").exists()
    assert subprocess.run(["crontab", "-u", user, "-l"], capture_output=True).returncode != 0


def _zombie(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
