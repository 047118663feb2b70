"""The ransomware drill, for real: a btrfs volume served by the real smbd,
its backup account overwriting and renaming every file over SMB and trying
to delete, rename or add to the snapshots by every path it can reach (SMB
Previous Versions paths, escapes out of the share, and the snapshot folder
directly, as another protocol running as the account would); then every
wrapper run with the account's name and the snapshots' names, as a
taken-over service account could. Afterwards every snapshot is there with
the same checksums, and rolling back to the one before the drill gives the
original files back."""

import json
import os
import shutil

import pytest
from test_wrappers_hostile import GRAMMAR, PRESENT, USER_SLOTS

from support import snapshots as snap
from support.storage import mount_point, ok

pytestmark = pytest.mark.root

PASSWORD = "Drill-Passw0rd-x"
ORIGINALS = {
    "Documents/report.docx": 150_000,
    "Documents/budget 2026.xlsx": 40_000,
    "Photos/holiday/IMG_0001.jpg": 600_000,
    "Photos/holiday/IMG_0002.jpg": 20,
    "notes.txt": 3_000,
}
BEFORE = "2026-03-02T09:00:00Z"
TAKEN = "2026-03-02T10:00:00Z"
DRILL = "2026-03-02T11:00:00Z"


@pytest.fixture
def victim(wrappers, samba):
    with snap.volume_on_share(wrappers, PASSWORD) as entry:
        yield entry


def smb(samba, entry, command):
    return samba.smbclient(entry.pw_name, PASSWORD, entry.pw_name, command)


def refused_over_smb(samba, entry, command):
    result = smb(samba, entry, command)
    output = result.stdout + result.stderr
    assert "NT_STATUS_" in output, f"{command!r} was not refused: {output}"


def populate(wrappers, entry):
    data = mount_point(wrappers, entry.pw_name)
    for relative, size in ORIGINALS.items():
        path = data / relative
        for parent in reversed(path.relative_to(data).parents[:-1]):
            if not (data / parent).exists():
                snap.as_user(entry, ["/usr/bin/mkdir", str(data / parent)])
        snap.write_as(entry, path, os.urandom(size))
    return snap.checksums(data)


def all_snapshot_checksums(wrappers, user):
    folder = snap.snapshot_folder(wrappers, user)
    return {name: snap.checksums(folder / name) for name in sorted(os.listdir(folder))}


def encrypt_everything_over_smb(samba, entry, tmp_path):
    garbage = tmp_path / "encrypted"
    garbage.write_bytes(os.urandom(80_000))
    for relative in ORIGINALS:
        result = smb(
            samba,
            entry,
            f'put "{garbage}" "{relative}"; rename "{relative}" "{relative}.locked"',
        )
        assert result.returncode == 0, result.stdout + result.stderr


def attack_snapshots_over_smb(samba, entry, token, tmp_path):
    garbage = tmp_path / "encrypted"
    for command in (
        f'del "{token}/notes.txt"',
        f'del "{token}/Documents/report.docx"',
        f'rename "{token}/notes.txt" "{token}/notes.locked"',
        f'rename "{token}/notes.txt" "stolen.txt"',
        f'put "{garbage}" "{token}/notes.txt"',
        f'put "{garbage}" "{token}/ransom-note.txt"',
        f'mkdir "{token}/new"',
        f'rmdir "{token}/Photos/holiday"',
        f'deltree "{token}/Photos"',
        f'deltree "{token}"',
        f'rename "{token}" "hidden"',
        f'setmode "{token}/notes.txt" +h',
        'del "../../snapshots/*"',
        r'deltree "..\..\snapshots"',
    ):
        refused_over_smb(samba, entry, command)
    # ".." ends at the share's root: the snapshot folder is not in sight.
    escaped = smb(samba, entry, 'ls "../*"; ls "../../*"')
    assert "snapshots" not in escaped.stdout
    assert "Documents" in escaped.stdout
    # Everything the account can reach on the live share goes.
    result = smb(samba, entry, "deltree Documents; deltree Photos; del *")
    assert "NT_STATUS_ACCESS_DENIED" not in result.stdout + result.stderr


def attack_snapshots_directly(wrappers, entry):
    """As the account itself, as any other protocol running as it would."""
    folder = snap.snapshot_folder(wrappers, entry.pw_name)
    top = folder.parent
    for name in os.listdir(folder):
        target = folder / name
        for argv in (
            ["/usr/bin/rm", "-rf", str(target)],
            ["/usr/bin/find", str(target), "-mindepth", "1", "-delete"],
            ["/usr/bin/mv", str(target), str(folder / "hidden")],
            ["/usr/bin/touch", str(target / "notes.txt")],
            ["/usr/bin/chmod", "000", str(target)],
            [shutil.which("btrfs"), "subvolume", "delete", str(target)],
            [shutil.which("btrfs"), "property", "set", str(target), "ro", "false"],
        ):
            assert snap.as_user(entry, argv).returncode != 0, argv
    for argv in (
        ["/usr/bin/mv", str(folder), str(top / "gone")],
        ["/usr/bin/rm", "-rf", str(folder)],
        ["/usr/bin/touch", str(folder / "@GMT-2099.01.01-00.00.00")],
        ["/usr/bin/chmod", "777", str(folder)],
    ):
        assert snap.as_user(entry, argv).returncode != 0, argv


def every_wrapper_as_the_service_account(wrappers, user, names):
    """Each wrapper with the account's name in every USER slot and each
    snapshot's name in every SNAPSHOT slot; with the volume mounted, then
    unmounted (when lvremove, mkfs and rmdir could act)."""
    outcomes = []
    for mounted in (True, False):
        if not mounted:
            ok(wrappers, "umount.py", user)
        for wrapper in PRESENT:
            slots = GRAMMAR[wrapper]
            for name in names or ["-"]:
                args = []
                for slot in slots:
                    if slot in USER_SLOTS:
                        args.append(user)
                    elif slot == "SIZE":
                        args.append("1")
                    elif slot == "SNAPSHOT":
                        args.append(name)
                    elif slot == "PATH":
                        args.append(".")
                result = wrappers.run(wrapper, *args, input_text="Taken-0ver-pass\n")
                outcomes.append((wrapper, args, result.returncode))
        if not mounted:
            # rmdir.py may have taken the (then empty) mount point; suspend.py
            # ran too, so the volume comes back by resume.py (mount.py
            # refuses a suspended volume).
            wrappers.run("mkdir.py", user)
            ok(wrappers, "resume.py", user)
    return outcomes


def test_ransomware_drill(wrappers, samba, victim, tmp_path):
    user = victim.pw_name
    data = mount_point(wrappers, user)
    originals = populate(wrappers, victim)
    assert len(originals) == len(ORIGINALS)
    for when in (BEFORE, TAKEN):
        with snap.clock(wrappers, when):
            ok(wrappers, "snapshot-create.py", user)
    token = "@GMT-2026.03.02-10.00.00"
    before = all_snapshot_checksums(wrappers, user)
    assert before[token] == originals
    structure = snap.tree_state(snap.snapshot_folder(wrappers, user))

    encrypt_everything_over_smb(samba, victim, tmp_path)
    assert set(snap.checksums(data)) == {f"{r}.locked" for r in ORIGINALS}
    # The encrypted state is what the next scheduled run snapshots; the
    # change it measures is the whole volume (the portal's alert reads it).
    with snap.clock(wrappers, DRILL):
        after = ok(wrappers, "snapshot-create.py")["volumes"][user]
    assert after["changed_files"] == len(ORIGINALS)
    assert after["changed_bytes"] >= len(ORIGINALS) * 80_000

    attack_snapshots_over_smb(samba, victim, token, tmp_path)
    assert snap.checksums(data) == {}
    attack_snapshots_directly(wrappers, victim)

    with snap.clock(wrappers, "2026-03-02T12:00:00Z"):
        names = sorted(before)
        outcomes = every_wrapper_as_the_service_account(wrappers, user, names)
    tried = {wrapper for wrapper, _, _ in outcomes}
    assert tried == set(PRESENT)
    # smbpasswd.py was among them: the laptop's password, for what follows.
    ok_password = wrappers.run("smbpasswd.py", user, input_text=PASSWORD + "\n")
    assert ok_password.returncode == 0, ok_password.stderr

    survivors = all_snapshot_checksums(wrappers, user)
    for name, sums in before.items():
        assert survivors.get(name) == sums, f"{name} changed or went: {json.dumps(outcomes)}"
    still = snap.tree_state(snap.snapshot_folder(wrappers, user))
    assert {k: v for k, v in still.items() if k.split("/")[0] in before} == structure

    with snap.clock(wrappers, "2026-03-02T13:00:00Z"):
        rolled = ok(wrappers, "snapshot-rollback.py", user, token)
    assert rolled["snapshot"] == token
    assert rolled["kept_as"] == "@GMT-2026.03.02-13.00.00"
    assert snap.checksums(data) == originals
    # And over SMB, as the laptop sees it.
    result = smb(samba, victim, f'get "notes.txt" "{tmp_path}/notes"')
    assert result.returncode == 0, result.stdout + result.stderr
    assert snap.checksums(tmp_path)["notes"] == originals["notes.txt"]
