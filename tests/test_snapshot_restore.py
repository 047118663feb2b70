"""Browsing a snapshot and restoring from it, as the user, on a real btrfs
volume: hostile names (not UTF-8, control characters) addressed by ref and
shown escaped, symlinks never followed, never overwriting, bounded; and
rolling the whole volume back, refused while it is in use."""

import base64
import os
import subprocess

import pytest

from support import snapshots as snap
from support.storage import mount_point, ok, refused

pytestmark = pytest.mark.root

TAKEN = "2026-03-02T08:30:00Z"
TOKEN = "@GMT-2026.03.02-08.30.00"
BAD_NAME = b"bad\xff\nname"


def ref(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture
def filled(wrappers):
    """A volume holding a folder, a file whose name is not UTF-8 and holds a
    newline, and a symlink out of the volume; snapshotted at TAKEN."""
    with snap.volume(wrappers) as entry:
        data = mount_point(wrappers, entry.pw_name)
        snap.as_user(entry, ["/usr/bin/mkdir", "-p", str(data / "Docs" / "Sub")])
        snap.write_as(entry, data / "Docs" / "a.txt", b"version one\n")
        snap.write_as(entry, data / "Docs" / "Sub" / "b.bin", os.urandom(300_000))
        snap.write_as(entry, os.fsdecode(bytes(data) + b"/" + BAD_NAME), b"hostile\n")
        snap.as_user(entry, ["/usr/bin/ln", "-s", "/etc", str(data / "link")])
        with snap.clock(wrappers, TAKEN):
            ok(wrappers, "snapshot-create.py", entry.pw_name)
        snap.write_as(entry, data / "Docs" / "a.txt", b"version two\n")
        yield entry


def test_browse_lists_one_folder_with_refs_and_escaped_names(wrappers, filled):
    user = filled.pw_name
    top = ok(wrappers, "snapshot-browse.py", user, TOKEN, ".")
    assert (top["user"], top["snapshot"], top["path"]) == (user, TOKEN, ".")
    assert (top["total"], top["truncated"]) == (3, False)
    by_name = {entry["name"]: entry for entry in top["entries"]}
    assert set(by_name) == {"Docs", "bad\\xff\\x0aname", "link"}
    assert by_name["bad\\xff\\x0aname"]["ref"] == ref(BAD_NAME)
    assert [by_name[n]["type"] for n in ("Docs", "bad\\xff\\x0aname", "link")] == [
        "dir",
        "file",
        "link",
    ]
    docs = ok(wrappers, "snapshot-browse.py", user, TOKEN, by_name["Docs"]["ref"])
    assert [(e["name"], e["type"]) for e in docs["entries"]] == [("Sub", "dir"), ("a.txt", "file")]
    assert docs["entries"][1]["size_bytes"] == len(b"version one\n")
    sub = ok(wrappers, "snapshot-browse.py", user, TOKEN, f"{ref(b'Docs')}/{ref(b'Sub')}")
    assert [(e["name"], e["size_bytes"]) for e in sub["entries"]] == [("b.bin", 300_000)]
    # A symlink is never followed: as a folder it is not there.
    line = refused(wrappers, "snapshot-browse.py", user, TOKEN, ref(b"link"))
    assert "not in the snapshot" in line


def test_browse_is_bounded(wrappers, filled):
    with snap.clock(wrappers, TAKEN, SNAPSHOT_BROWSE_MAX_ENTRIES=2):
        top = ok(wrappers, "snapshot-browse.py", filled.pw_name, TOKEN, ".")
    assert (len(top["entries"]), top["total"], top["truncated"]) == (2, 3, True)


def test_restore_copies_as_the_user_into_a_new_folder_never_over_anything(wrappers, filled):
    user = filled.pw_name
    data = mount_point(wrappers, user)
    path = f"{ref(b'Docs')}/{ref(b'a.txt')}"
    first = ok(wrappers, "snapshot-restore.py", user, TOKEN, path)
    folder = "Restored 2026-03-02 08.30 from snapshot"
    assert first == {
        "user": user,
        "snapshot": TOKEN,
        "path": path,
        "restored_to": folder,
        "files": 1,
        "bytes": len(b"version one\n"),
    }
    # Where it was: under the folders it was in.
    assert (data / folder / "Docs" / "a.txt").read_bytes() == b"version one\n"
    assert (data / "Docs" / "a.txt").read_bytes() == b"version two\n"
    assert os.stat(data / folder / "Docs" / "a.txt").st_uid == filled.pw_uid
    assert os.stat(data / folder / "Docs").st_uid == filled.pw_uid

    everything = ok(wrappers, "snapshot-restore.py", user, TOKEN, ".")
    assert everything["restored_to"] == f"{folder} (2)"
    restored = data / f"{folder} (2)"
    assert everything["files"] == 4
    assert (restored / "Docs" / "Sub" / "b.bin").stat().st_size == 300_000
    assert os.readlink(restored / "link") == "/etc"
    assert (bytes(restored) + b"/" + BAD_NAME) in [
        bytes(restored) + b"/" + name for name in os.listdir(bytes(restored))
    ]
    owners = {
        os.lstat(os.path.join(d, n)).st_uid for d, ds, fs in os.walk(restored) for n in ds + fs
    }
    assert owners == {filled.pw_uid}


def test_a_file_inside_a_deleted_folder_comes_back_under_its_folders(wrappers, filled):
    """One level down inside a folder deleted since (ransomware, a slip):
    restored as Restored …/Docs/Sub/b.bin, in a folder named as the portal
    asked (the person's language)."""
    user = filled.pw_name
    data = mount_point(wrappers, user)
    original = (data / "Docs" / "Sub" / "b.bin").read_bytes()
    snap.as_user(filled, ["/usr/bin/rm", "-rf", str(data / "Docs")])
    folder = "Palautettu 2026-03-02 10.30 EET tilannekuvasta"
    path = f"{ref(b'Docs')}/{ref(b'Sub')}/{ref(b'b.bin')}"
    result = ok(wrappers, "snapshot-restore.py", user, TOKEN, path, folder)
    assert (result["restored_to"], result["files"]) == (folder, 1)
    assert sorted(os.listdir(data / folder)) == ["Docs"]
    assert sorted(os.listdir(data / folder / "Docs")) == ["Sub"]
    assert (data / folder / "Docs" / "Sub" / "b.bin").read_bytes() == original
    assert not (data / "Docs").exists()  # only the new folder was added


@pytest.mark.parametrize(
    "folder",
    ["", ".hidden", "-rf", " lead", "trail ", "dot.", "a/b", "..", "a\\b", "a:b", 'a"b',
     "a\nb", "a\x1bb", "a\u202eb", "x" * 201, "é" * 101],
)  # fmt: skip
def test_a_folder_name_that_is_not_one_plain_name_is_refused(wrappers, filled, folder):
    data = mount_point(wrappers, filled.pw_name)
    before = snap.tree_state(data)
    line = refused(wrappers, "snapshot-restore.py", filled.pw_name, TOKEN, ".", folder)
    assert "invalid folder name" in line
    assert snap.tree_state(data) == before


@pytest.mark.parametrize(
    "path",
    ["", "/", "..", ref(b".."), ref(b"."), ref(b"a/b"), "YQ==", "YR", "a//b", "a/", "a b",
     "/".join(["YQ"] * 65), ref(b"x" * 256), ref(b"a\0b")],
)  # fmt: skip
def test_hostile_paths_are_refused(wrappers, filled, path):
    data = mount_point(wrappers, filled.pw_name)
    before = snap.tree_state(data)
    for wrapper in ("snapshot-browse.py", "snapshot-restore.py"):
        assert "invalid path" in refused(wrappers, wrapper, filled.pw_name, TOKEN, path)
    assert snap.tree_state(data) == before


def test_rollback_is_refused_while_the_volume_is_in_use(wrappers, filled):
    user = filled.pw_name
    data = mount_point(wrappers, user)
    before = snap.tree_state(snap.snapshot_folder(wrappers, user))
    holder = subprocess.Popen(["/usr/bin/sleep", "60"], cwd=data)
    try:
        with snap.clock(wrappers, "2026-03-02T09:00:00Z"):
            assert "in use" in refused(wrappers, "snapshot-rollback.py", user, TOKEN)
    finally:
        holder.kill()
        holder.wait()
    assert (data / "Docs" / "a.txt").read_bytes() == b"version two\n"
    assert snap.tree_state(snap.snapshot_folder(wrappers, user)) == before
    with snap.clock(wrappers, "2026-03-02T09:00:00Z"):
        rolled = ok(wrappers, "snapshot-rollback.py", user, TOKEN)
    assert rolled["kept_as"] == "@GMT-2026.03.02-09.00.00"
    assert (data / "Docs" / "a.txt").read_bytes() == b"version one\n"
    kept = snap.snapshot_folder(wrappers, user) / "@GMT-2026.03.02-09.00.00"
    assert (kept / "Docs" / "a.txt").read_bytes() == b"version two\n"
