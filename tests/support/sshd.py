"""A private OpenSSH server on a loopback port, for the replica tests: it
stands for the primary server that the replica pulls from.

Generated configuration, host key and authorized_keys under one directory
the caller owns; started in the foreground (``sshd -D``) so this process
holds it and stops it, whatever happened.
"""

import contextlib
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = "/usr/sbin/sshd"
PRIVSEP_DIR = Path("/run/sshd")
START_SECONDS = 10


@dataclass
class Server:
    directory: Path
    port: int
    host_public_key: str

    @property
    def authorized_keys(self):
        return self.directory / "authorized_keys"

    def known_hosts_line(self):
        return f"[127.0.0.1]:{self.port} {self.host_public_key}"


def keypair(path: Path) -> str:
    """A new ed25519 key at path (no passphrase); its public line."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path.with_name(path.name + ".pub").read_text().strip()


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_listening(port, process, log):
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited: {log.read_text(errors='replace')}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError("sshd did not start listening")


@contextlib.contextmanager
def running(directory: Path):
    """sshd on 127.0.0.1:<free port>, root logins with forced commands only
    (the primary's side of the replica), keys from directory/authorized_keys
    (which the caller writes, before or after the start)."""
    directory.mkdir(mode=0o700, exist_ok=True)
    host_public = keypair(directory / "host_key")
    (directory / "authorized_keys").touch(mode=0o600)
    port = _free_port()
    config = directory / "sshd_config"
    config.write_text(
        f"Port {port}\n"
        "ListenAddress 127.0.0.1\n"
        f"HostKey {directory / 'host_key'}\n"
        f"PidFile {directory / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {directory / 'authorized_keys'}\n"
        "AllowUsers root\n"
        "PermitRootLogin forced-commands-only\n"
        "PubkeyAuthentication yes\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "UsePAM no\n"
        # The test directory sits under /var/tmp (world-writable, sticky),
        # which StrictModes refuses; production keys are in /root/.ssh.
        "StrictModes no\n"
        # As Debian's default configuration has it: the forced command must
        # win over a subsystem too.
        "Subsystem sftp /usr/lib/openssh/sftp-server\n"
        "LogLevel ERROR\n"
    )
    made_privsep = not PRIVSEP_DIR.exists()
    if made_privsep:
        PRIVSEP_DIR.mkdir(mode=0o755)
    log = directory / "sshd.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
    try:
        _wait_listening(port, process, log)
        yield Server(directory=directory, port=port, host_public_key=host_public)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if made_privsep:
            with contextlib.suppress(OSError):
                os.rmdir(PRIVSEP_DIR)
