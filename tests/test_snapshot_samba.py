"""Windows Previous Versions for real: the share's configuration (as
`manage.py samba_config` generates it) served by a private smbd, a btrfs
volume with snapshots taken by the real wrappers, and smbclient listing a
file's snapshots and reading an old version back."""

import hashlib
import os

import pytest
from conftest import require_tool

from support import samba_share
from support import snapshots as snap
from support.storage import mount_point, ok

pytestmark = pytest.mark.root

PASSWORD = "Prev-Versions-0k"


@pytest.fixture(scope="module")
def samba(wrappers):
    require_tool("smbd")
    require_tool("smbclient")
    with samba_share.running(wrappers) as server:
        yield server


@pytest.fixture
def shared(wrappers, samba):
    """A btrfs volume with the snapshot layout whose owner can log on."""
    with snap.volume_on_share(wrappers, PASSWORD) as entry:
        yield entry


def smb(samba, entry, command):
    result = samba.smbclient(entry.pw_name, PASSWORD, entry.pw_name, command)
    assert result.returncode == 0, f"{result.stdout}{result.stderr}\n{samba.log_tail()}"
    return result.stdout


def test_previous_versions_are_listed_and_an_old_version_reads_back(
    wrappers, samba, shared, tmp_path
):
    data = mount_point(wrappers, shared.pw_name)
    old, new = os.urandom(70_000), os.urandom(50_000)
    snap.write_as(shared, data / "report.docx", old)
    taken = []
    for when in ("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"):
        with snap.clock(wrappers, when):
            taken.append(ok(wrappers, "snapshot-create.py", shared.pw_name)["snapshot"])
        snap.write_as(shared, data / "report.docx", new)

    listing = smb(samba, shared, 'allinfo "report.docx"')
    assert [line.split()[0] for line in listing.splitlines() if line.startswith("@GMT-")] == [
        taken[1],
        taken[0],
    ], listing

    smb(samba, shared, f'get "{taken[0]}/report.docx" "{tmp_path}/old"')
    assert hashlib.sha256((tmp_path / "old").read_bytes()).digest() == hashlib.sha256(old).digest()
    smb(samba, shared, f'get "report.docx" "{tmp_path}/now"')
    assert (tmp_path / "now").read_bytes() == new
