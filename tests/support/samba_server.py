"""A real smbd for tests: loopback only, on a free port, with private state.

    with samba_server.running(wrappers) as server:
        assert server.authenticates(user, password)
        server.smbclient(user, password, "share", "put local remote")

The server's configuration is the session install's private smb.conf (the
one the wrappers' SAMBA_CONFIG names, so smbd reads the passdb that
smbpasswd.py writes) plus a second ``[global]`` section: its own port,
``interfaces = lo`` with ``bind interfaces only``, no NetBIOS, no printing,
and its own lock/state/cache/pid/log directories under
``<install>/samba/servers/<token>``, so several servers can run at once.
Shares are given as ``{name: {parameter: value}}``; by default there is one
read-only share, ``bmcheck``, that any account can connect to.

``stop`` ends smbd and every process it started (its session and its
descendants), then removes the server's directory.
"""

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

CHECK_SHARE = "bmcheck"
START_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 15
START_ATTEMPTS = 3
CLIENT_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8"}
LOGON_FAILURE = "NT_STATUS_LOGON_FAILURE"


@dataclass
class SambaServer:
    directory: Path
    config: Path
    port: int
    process: subprocess.Popen

    @property
    def log(self):
        return self.directory / "smbd.out"

    def log_tail(self, lines=20):
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def smbclient(self, user, password, share=CHECK_SHARE, command="ls", timeout=60):
        """Run one smbclient command on a share as user.

        smbclient 4.17 has no --password-from-stdin; it reads PASSWD from its
        environment, which (unlike argv) other users can't see in /proc.
        """
        return subprocess.run(
            [
                "smbclient",
                "--configfile",
                str(self.config),
                "--port",
                str(self.port),
                "--user",
                user,
                f"//127.0.0.1/{share}",
                "--command",
                command,
            ],
            env={**CLIENT_ENV, "PASSWD": password},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def authenticates(self, user, password, share=CHECK_SHARE):
        """True when the server accepts user/password, False on a logon failure.

        Anything else (no server, no such share) raises: a test must not read
        a broken setup as a refused password.
        """
        result = self.smbclient(user, password, share)
        if result.returncode == 0:
            return True
        output = result.stdout + result.stderr
        if LOGON_FAILURE in output:
            return False
        raise AssertionError(
            f"smbclient failed for another reason (exit {result.returncode}): {output.strip()}"
            f"\n--- smbd log ---\n{self.log_tail()}"
        )


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _share_text(shares):
    text = ""
    for name, parameters in shares.items():
        text += f"[{name}]\n" + "".join(f"  {key} = {value}\n" for key, value in parameters.items())
    return text


def _write_config(install, directory, port, shares, extra_global):
    base = Path(install.settings["SAMBA_CONFIG"])
    parameters = {
        "smb ports": port,
        "interfaces": "lo",
        "bind interfaces only": "yes",
        "disable netbios": "yes",
        "server role": "standalone server",
        "load printers": "no",
        "printing": "bsd",
        "printcap name": "/dev/null",
        "disable spoolss": "yes",
        # No samba-dcerpcd helpers: file shares and logons don't need them.
        "rpc start on demand helpers": "no",
        "lock directory": directory / "lock",
        "state directory": directory / "state",
        "cache directory": directory / "cache",
        "pid directory": directory / "pid",
        "ncalrpc dir": directory / "state" / "ncalrpc",
        "log file": directory / "log.%m",
        **(extra_global or {}),
    }
    # A second [global] section reopens the globals whatever the base file
    # ends with; the private dir (and so the passdb) stays the base file's.
    text = (
        base.read_text()
        + "\n[global]\n"
        + "".join(f"  {key} = {value}\n" for key, value in parameters.items())
        + _share_text(shares)
    )
    config = directory / "smb.conf"
    config.write_text(text)
    return config


def _accepting(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _launch(directory, config, debug_stdout=True):
    # Without debug_stdout smbd logs where its configuration says.
    debug = ["--debug-stdout", "--debuglevel=1"] if debug_stdout else []
    with open(directory / "smbd.out", "ab") as log:
        return subprocess.Popen(
            ["smbd", "--foreground", "--no-process-group", *debug, "--configfile", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=CLIENT_ENV,
            # Its own session: stop() finds every process it started by it.
            start_new_session=True,
        )


def start(install, shares=None, extra_global=None):
    """Start smbd for the session install; the caller must stop() it."""
    if shares is None:
        shares = {CHECK_SHARE: {"path": "{directory}/check", "read only": "yes"}}
    directory = Path(install.settings["SAMBA_CONFIG"]).parent / "servers" / secrets.token_hex(4)
    directory.mkdir(parents=True, mode=0o755)
    os.chmod(directory.parent, 0o755)
    os.chmod(directory, 0o755)  # share paths below it are reached by the accounts
    for sub in ("lock", "state", "cache", "pid"):
        (directory / sub).mkdir(mode=0o700)
    (directory / "check").mkdir(mode=0o755)
    (directory / "check" / "hello.txt").write_text("hello\n")
    shares = {
        name: {key: str(value).format(directory=directory) for key, value in parameters.items()}
        for name, parameters in shares.items()
    }
    return serve(
        directory, lambda port: _write_config(install, directory, port, shares, extra_global)
    )


def serve(directory, write_config, debug_stdout=True):
    """Start smbd with the configuration write_config(port) writes (it returns
    the file's path) on a free loopback port; the caller must stop() it.

    directory is the server's own: stop() removes it, and so does a failed start.
    """
    server = None
    try:
        for _ in range(START_ATTEMPTS):
            port = _free_port()
            config = write_config(port)
            process = _launch(directory, config, debug_stdout)
            server = SambaServer(directory, config, port, process)
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            while server.process.poll() is None and time.monotonic() < deadline:
                if _accepting(port):
                    return server
                time.sleep(0.1)
            # Died (most likely another process took the port first) or hung.
            _end(server)
        raise RuntimeError(f"smbd did not start:\n{server.log_tail()}")
    except BaseException:
        if server is not None:
            _end(server)
        shutil.rmtree(directory, ignore_errors=True)
        raise


def _live_processes():
    """{pid: (ppid, session id)} of every process that is not a zombie."""
    processes = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            processes[int(entry)] = (int(fields[1]), int(fields[3]))
    return processes


def _family(root):
    """root, its descendants, and everything in its session."""
    processes = _live_processes()
    family = {pid for pid, (_, session) in processes.items() if session == root}
    family.add(root)
    grew = True
    while grew:
        grew = False
        for pid, (parent, _) in processes.items():
            if parent in family and pid not in family:
                family.add(pid)
                grew = True
    return family & set(processes)


def _signal_all(pids, signum):
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _end(server):
    root = server.process.pid
    # smbd ends its children itself on SIGTERM; whatever is left gets SIGKILL.
    # smbd is reaped only at the end: until then its pid (the session id of
    # everything it started) can't be reused by an unrelated process.
    _signal_all(_family(root), signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    killed = False
    while family := _family(root):
        if time.monotonic() > deadline:
            if killed:
                raise RuntimeError(f"smbd processes {sorted(family)} would not end")
            _signal_all(family, signal.SIGKILL)
            killed = True
            deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        time.sleep(0.05)
    server.process.wait(timeout=STOP_TIMEOUT_SECONDS)


def stop(server):
    """End smbd and all it started; remove its private directory."""
    try:
        _end(server)
    finally:
        shutil.rmtree(server.directory, ignore_errors=True)


@contextlib.contextmanager
def running(install, shares=None, extra_global=None):
    server = start(install, shares, extra_global)
    try:
        yield server
    finally:
        stop(server)
