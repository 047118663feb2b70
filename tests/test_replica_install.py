"""bin/install-replica sets the replica up (wrappers, key, pinned host key,
settings), idempotently, prints the one line for the primary's
authorized_keys, and --check proves the key reaches the primary and can do
nothing else there; a pool that is not btrfs is refused."""

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import require_tool

from support import replica

pytestmark = pytest.mark.root
INSTALLER = Path(__file__).resolve().parent.parent / "bin" / "install-replica"


@pytest.fixture(scope="module")
def two(wrappers):
    with replica.servers(wrappers) as servers:
        yield servers


def replica_sshd(two, target, text="PermitRootLogin no\n"):
    """The replica's own sshd configuration, as --check reads it (sshd -T)."""
    path = target / "sshd_config"
    path.write_text(f"HostKey {two.server.directory / 'host_key'}\n{text}")
    return str(path)


def install(two, target, *extra):
    return subprocess.run(
        [
            str(INSTALLER), "--primary", "127.0.0.1", "--port", str(two.server.port),
            "--host-key", two.server.host_public_key, "--pool", str(two.pool / "installed"),
            "--wrappers", str(target / "wrappers"), "--config-dir", str(target / "config"),
            "--primary-wrappers", str(two.primary.path), *extra,
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_install_prints_the_primary_s_line_and_check_passes(two):
    target = two.replica.base / "installed"
    target.mkdir(mode=0o755)
    first = install(two, target)
    assert first.returncode == 0, first.stderr
    line = first.stdout.strip().splitlines()[-1]
    public = (target / "config" / "id_ed25519.pub").read_text().strip()
    assert line == f'restrict,command="{two.primary.path}/tools/snapshot-send.py" {public}'
    settings = (target / "wrappers" / "local_settings.py").read_text()
    assert "REPLICA_PRIMARY_HOST = '127.0.0.1'" in settings
    assert "SNAPSHOT_PROTECTION_DAYS = 90" in settings
    assert (target / "config").stat().st_mode & 0o777 == 0o700

    again = install(two, target)
    assert again.returncode == 0, again.stderr
    assert "nothing to change" in again.stdout

    honest = two.server.authorized_keys.read_text()
    two.server.authorized_keys.write_text(line + "\n")
    try:
        checked = install(two, target, "--check", "--sshd-config", replica_sshd(two, target))
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "ok: no key logs in here as root from the primary" in checked.stdout
        assert "ok: the key may run nothing else on the primary" in checked.stdout
        (target / "wrappers" / "local_settings.py").write_text(
            settings
            + "".join(
                f"{key} = {two.replica.settings[key]!r}\n"
                for key in ("MANAGED_GROUP", "LOCK_DIR", "SYSLOG_ADDRESS")
            )
        )
        pulled = subprocess.run(
            [str(target / "wrappers" / "tools" / "replica-pull.py")],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        status = json.loads((two.pool / "installed" / ".status.json").read_text())
        assert status["reachable"], (pulled.stderr, status)
    finally:
        two.server.authorized_keys.write_text(honest)


def test_an_unrestricted_key_fails_the_check(two):
    target = two.replica.base / "installed-loose"
    target.mkdir(mode=0o755)
    assert install(two, target).returncode == 0
    public = (target / "config" / "id_ed25519.pub").read_text().strip()
    honest = two.server.authorized_keys.read_text()
    # A line without the forced command (this sshd refuses it, forced-commands-only;
    # elsewhere it would open a root shell): either way the check fails.
    two.server.authorized_keys.write_text(f"{public}\n")
    try:
        checked = install(two, target, "--check", "--sshd-config", replica_sshd(two, target))
    finally:
        two.server.authorized_keys.write_text(honest)
    assert checked.returncode == 1
    assert "FAIL" in checked.stdout


@pytest.mark.parametrize(
    ("config", "line", "closed"),
    [
        ("PermitRootLogin prohibit-password\n", "{key}", False),
        ("PermitRootLogin prohibit-password\n", 'from="127.0.0.1,10.9.9.9" {key}', False),
        ("PermitRootLogin prohibit-password\n", 'from="10.9.*" {key}', False),
        ("PermitRootLogin prohibit-password\n", 'from="10.9.9.9" {key}', True),
        ("PermitRootLogin yes\nMatch Address 127.0.0.1\n  PermitRootLogin no\n", "{key}", True),
        ("PermitRootLogin no\nMatch Address 127.0.0.1\n  PermitRootLogin yes\n", "{key}", False),
    ],
)
def test_check_fails_when_the_primary_could_log_in_here_as_root(two, config, line, closed):
    """Asked of sshd for a root connection from the primary (127.0.0.1 here):
    refused outright, or every key of root's limited to other hosts."""
    target = two.replica.base / f"installed-root-{os.urandom(4).hex()}"
    target.mkdir(mode=0o755)
    assert install(two, target).returncode == 0
    keys = target / "root_authorized_keys"
    public = (target / "config" / "id_ed25519.pub").read_text().strip()
    keys.write_text("# admins\n" + line.format(key=public) + "\n")
    text = f"AuthorizedKeysFile {keys}\n{config}"
    honest = two.server.authorized_keys.read_text()
    two.server.authorized_keys.write_text(
        f'restrict,command="{two.primary.path}/tools/snapshot-send.py" {public}\n'
    )
    try:
        checked = install(two, target, "--check", "--sshd-config", replica_sshd(two, target, text))
    finally:
        two.server.authorized_keys.write_text(honest)
    if closed:
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "ok: no key logs in here as root from the primary" in checked.stdout
    else:
        assert checked.returncode == 1
        assert checked.stdout.startswith("FAIL: the primary could log in here: "), checked.stdout
        assert "the primary answers" not in checked.stdout


def test_a_pool_that_is_not_btrfs_is_refused(two):
    target = two.replica.base / "installed-ext"
    target.mkdir(mode=0o755)
    result = subprocess.run(
        [str(INSTALLER), "--primary", "127.0.0.1", "--host-key", two.server.host_public_key,
         "--pool", str(target / "pool"), "--wrappers", str(target / "wrappers"),
         "--config-dir", str(target / "config")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 1
    assert "not btrfs" in result.stderr


def test_the_replica_s_timers_and_services_verify(tmp_path):
    require_tool("systemd-analyze")
    repo = INSTALLER.parent.parent
    for unit in (repo / "deploy" / "replica").glob("backupmanagement-replica-*"):
        text = unit.read_text().replace("/opt/backupmanagement/wrappers", str(repo / "wrappers"))
        (tmp_path / unit.name).write_text(text)
    services = sorted(str(path) for path in tmp_path.glob("*.service"))
    assert [Path(path).stem for path in services] == [
        "backupmanagement-replica-pull",
        "backupmanagement-replica-verify",
    ]
    verified = subprocess.run(
        ["systemd-analyze", "verify", *services], capture_output=True, text=True
    )
    assert verified.returncode == 0, verified.stderr
