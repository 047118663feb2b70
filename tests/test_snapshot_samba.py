"""Windows Previous Versions for real: the share's configuration (as
`manage.py samba_config` generates it) served by a private smbd, a btrfs
volume with snapshots taken by the real wrappers, and smbclient listing a
file's snapshots and reading an old version back."""

import hashlib
import os
import re
import subprocess

import pytest
from smbprotocol.exceptions import SMBResponseException
from smbprotocol.header import NtStatus

from backup.samba import config
from support import snapshots as snap
from support.samba_windows import WindowsClient
from support.storage import mount_point, ok

pytestmark = pytest.mark.root

PASSWORD = "Prev-Versions-0k"


def samba_version():
    found = re.search(
        r"(\d+)\.(\d+)",
        subprocess.run(["smbd", "--version"], capture_output=True, text=True, check=True).stdout,
    )
    return int(found.group(1)), int(found.group(2))


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


# A project four folders deep, as ransomware finds it, and more files at
# every level of it for the folder restore.
PROJECT = {
    "Projects/portal/src/app/file.py": 30_000,
    "Projects/portal/src/app/views.py": 5_000,
    "Projects/portal/src/README.md": 700,
    "Projects/portal/notes.txt": 1_200,
    "Projects/budget.xlsx": 40_000,
}
DEEP = "Projects/portal/src/app/file.py"


def smb_fails(samba, entry, share, command):
    result = samba.smbclient(entry.pw_name, PASSWORD, share, command)
    output = result.stdout + result.stderr
    assert "NT_STATUS_" in output, f"{command!r} was not refused: {output}"
    return output


@pytest.fixture
def deleted_project(wrappers, samba, shared):
    """PROJECT written, snapshotted, then its top folder deleted over SMB:
    (its snapshot's token, {path: bytes})."""
    data = mount_point(wrappers, shared.pw_name)
    originals = {}
    for relative, size in PROJECT.items():
        path = data / relative
        for parent in reversed(path.relative_to(data).parents[:-1]):
            if not (data / parent).exists():
                snap.as_user(shared, ["/usr/bin/mkdir", str(data / parent)])
        originals[relative] = os.urandom(size)
        snap.write_as(shared, path, originals[relative])
    with snap.clock(wrappers, "2026-03-02T09:00:00Z"):
        token = ok(wrappers, "snapshot-create.py", shared.pw_name)["snapshot"]
    smb(samba, shared, "deltree Projects")
    assert not (data / "Projects").exists()
    return token, originals


def test_a_file_four_folders_deep_in_a_deleted_folder_reads_back(
    wrappers, samba, shared, deleted_project, tmp_path
):
    token, originals = deleted_project
    share = config.PREVIOUS_VERSIONS_SECTION
    folder = config.previous_versions_folder(token)
    result = samba.smbclient(
        shared.pw_name, PASSWORD, share, f'get "{folder}/{DEEP}" "{tmp_path}/deep"'
    )
    assert result.returncode == 0, f"{result.stdout}{result.stderr}\n{samba.log_tail()}"
    assert (tmp_path / "deep").read_bytes() == originals[DEEP]


def test_a_deleted_folder_restores_as_explorer_copies_it(wrappers, samba, shared, deleted_project):
    """List the snapshot's folder, then read every file in it and below."""
    token, originals = deleted_project
    folder = config.previous_versions_folder(token)
    with WindowsClient(
        samba.port, shared.pw_name, PASSWORD, config.PREVIOUS_VERSIONS_SECTION
    ) as windows:
        assert windows.listdir("") == {folder: True}
        restored = windows.walk(f"{folder}/Projects")
    assert {path.removeprefix(f"{folder}/"): data for path, data in restored.items()} == originals


def test_previous_versions_share_is_read_only_and_the_accounts_own(
    wrappers, samba, shared, deleted_project, tmp_path
):
    token, _ = deleted_project
    share = config.PREVIOUS_VERSIONS_SECTION
    shown = config.previous_versions_folder(token)
    folder = snap.snapshot_folder(wrappers, shared.pw_name)
    before = snap.tree_state(folder)
    (tmp_path / "evil").write_bytes(b"encrypted")
    for command in (
        f'del "{shown}/{DEEP}"',
        f'put "{tmp_path}/evil" "{shown}/{DEEP}"',
        f'put "{tmp_path}/evil" "ransom.txt"',
        f'mkdir "{shown}/new"',
        f'deltree "{shown}/Projects"',
        f'rename "{shown}" "hidden"',
    ):
        smb_fails(samba, shared, share, command)
    assert snap.tree_state(folder) == before
    # The path is the logged-on account's (%u): another name in the share's
    # path is not something a client can ask for.
    listing = samba.smbclient(shared.pw_name, PASSWORD, share, 'ls "../*"').stdout
    assert shown in listing
    assert "snapshots" not in listing
    assert "data" not in listing


def test_timewarp_and_gmt_paths_reach_into_a_deleted_folder(
    wrappers, samba, shared, deleted_project, tmp_path
):
    """The volume's own share, as Windows asks: a timewarp create context
    (smbprotocol) and smbclient's @GMT path form. The deleted folder itself
    lists on every Samba; what is below it needs an smbd that opens the
    parent folders in the snapshot. smbd 4.17 opens them in the live share
    (filename_convert_dirfsp_nosymlink passes twrp 0 for the directory part;
    Samba's master passes it): there, previous-versions$ is the way."""
    token, originals = deleted_project
    with WindowsClient(samba.port, shared.pw_name, PASSWORD, shared.pw_name) as windows:
        assert windows.listdir("Projects", at=token) == {"portal": True, "budget.xlsx": False}
        try:
            below = windows.read("Projects/budget.xlsx", at=token)
            deep = windows.read(DEEP, at=token)
        except SMBResponseException as error:
            if error.status == NtStatus.STATUS_OBJECT_PATH_NOT_FOUND and samba_version() < (4, 18):
                pytest.xfail(f"smbd {samba_version()} opens a timewarp's parent folders live")
            raise
    assert below == originals["Projects/budget.xlsx"]
    assert deep == originals[DEEP]
    smb(samba, shared, f'get "{token}/{DEEP}" "{tmp_path}/deep"')
    assert (tmp_path / "deep").read_bytes() == originals[DEEP]
