"""Two servers on this machine for the replica tests: the session's wrapper
install is the primary; a second install, with its own btrfs pool on a
loop-file image, is the replica; a private sshd on a loopback port stands
for the primary's SSH service, where the replica's key may only run
tools/snapshot-send.py."""

import contextlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from support import sshd, wrapper_install

POOL_BYTES = 2 << 30


@dataclass
class Servers:
    primary: wrapper_install.WrapperInstall
    replica: wrapper_install.WrapperInstall
    server: sshd.Server
    key: Path

    @property
    def pool(self) -> Path:
        return Path(self.replica.settings["REPLICA_ROOT"])

    def pull(self):
        """tools/replica-pull.py on the replica: (completed, status JSON)."""
        completed = self.replica.run("tools/replica-pull.py")
        status = json.loads((self.pool / ".status.json").read_text())
        return completed, status

    def ssh(self, *request, options=(), input=b""):
        """ssh to the primary with the replica's key, as the pull does."""
        return subprocess.run(
            self.ssh_argv(*request, options=options), input=input, capture_output=True, timeout=120
        )

    def ssh_argv(self, *request, options=()):
        return [
            "ssh", "-F", "/dev/null", "-i", str(self.key), "-p", str(self.server.port),
            "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-o", f"UserKnownHostsFile={self.key.parent / 'known_hosts'}",
            "-o", "StrictHostKeyChecking=yes", *options, "root@127.0.0.1", *request,
        ]  # fmt: skip


def _pool(replica):
    """A btrfs filesystem on a loop-file image under the replica's base
    (wrapper_install.destroy unmounts it and detaches its loop device)."""
    image, point = replica.base / "replica-pool.img", replica.base / "replica-pool"
    with open(image, "wb") as sparse:
        sparse.truncate(POOL_BYTES)
    subprocess.run(["mkfs.btrfs", "-q", str(image)], check=True, capture_output=True)
    point.mkdir(mode=0o700)
    subprocess.run(["mount", "-o", "loop", str(image), str(point)], check=True)
    point.chmod(0o700)
    return point


@contextlib.contextmanager
def servers(primary):
    """The replica install, its pool, its key, and the primary's sshd with
    the replica's key forced to snapshot-send.py; all removed afterwards."""
    replica = wrapper_install.create(uid_min=50000, uid_max=59999)
    try:
        pool = _pool(replica)
        keys = replica.base / "ssh"
        keys.mkdir(mode=0o700)
        public = sshd.keypair(keys / "id_ed25519")
        with sshd.running(replica.base / "primary-sshd") as server:
            forced = primary.path / "tools" / "snapshot-send.py"
            server.authorized_keys.write_text(f'restrict,command="{forced}" {public}\n')
            (keys / "known_hosts").write_text(server.known_hosts_line() + "\n")
            replica.settings.update(
                REPLICA_ROOT=str(pool),
                REPLICA_PRIMARY_HOST="127.0.0.1",
                REPLICA_PRIMARY_PORT=server.port,
                REPLICA_SSH_KEY=str(keys / "id_ed25519"),
                REPLICA_KNOWN_HOSTS=str(keys / "known_hosts"),
            )
            replica.write_local_settings()
            yield Servers(primary=primary, replica=replica, server=server, key=keys / "id_ed25519")
    finally:
        wrapper_install.destroy(replica)
