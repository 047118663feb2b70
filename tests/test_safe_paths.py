"""bin/safe_paths.py, root's file operations where another account has a
hand in the path: a link or a stranger's file anywhere on the way is refused
with a sentence naming it, and what the link leads to is never changed."""

import os
import secrets
import shutil
import stat
import sys
from pathlib import Path

import pytest

from support import accounts
from support.deployment import REPO

sys.path.insert(0, str(REPO / "bin"))
import safe_paths

pytestmark = [pytest.mark.root]


@pytest.fixture
def base():
    """A root-owned directory (0755) under /var/tmp, removed afterwards."""
    path = Path(f"/var/tmp/bsp-{secrets.token_hex(4)}")
    path.mkdir(mode=0o755)
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def account():
    with accounts.outsider() as entry:
        yield entry


@pytest.fixture
def secret(base):
    """A root-only file that a link might lead to."""
    path = base / "secret"
    path.write_text("root's\n")
    os.chmod(path, 0o600)
    return path


def state(path):
    info = os.lstat(path)
    content = path.read_bytes() if stat.S_ISREG(info.st_mode) else sorted(os.listdir(path))
    return info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode), content


def test_a_directory_is_made_then_kept_as_asked(base, account):
    target = base / "made" / "data"
    assert safe_paths.ensure_directory(target, account.pw_uid, account.pw_gid, 0o750) == "created"
    assert state(target)[:3] == (account.pw_uid, account.pw_gid, 0o750)
    assert state(base / "made")[:3] == (0, 0, 0o755)
    assert safe_paths.ensure_directory(target, account.pw_uid, account.pw_gid, 0o750) is None
    os.chmod(target, 0o777)
    assert safe_paths.ensure_directory(target, account.pw_uid, account.pw_gid, 0o750) == "set"
    assert state(target)[2] == 0o750


def test_a_link_in_place_of_a_directory_is_refused_and_its_target_kept(base, account):
    owned = base / "owned"
    owned.mkdir()
    os.chown(owned, account.pw_uid, account.pw_gid)
    victim = base / "victim"
    victim.mkdir(mode=0o700)
    before = state(victim)
    (owned / "rrd").symlink_to(victim)
    trusted = {0, account.pw_uid}
    with pytest.raises(safe_paths.Refused, match=rf"^{owned}/rrd is a symbolic link$"):
        safe_paths.ensure_directory(owned / "rrd", account.pw_uid, account.pw_gid, 0o750, trusted)
    with pytest.raises(safe_paths.Refused, match="is a symbolic link"):
        safe_paths.check(owned / "rrd", "dir", account.pw_uid, trusted)
    assert state(victim) == before


def test_a_link_on_the_way_that_its_owner_could_re_point_is_refused(base, account, secret):
    owned = base / "owned"
    owned.mkdir()
    os.chown(owned, account.pw_uid, account.pw_gid)
    (owned / "logs").symlink_to(base)
    with pytest.raises(safe_paths.Refused, match=rf"^{owned}/logs is a symbolic link that "):
        safe_paths.ensure_file(
            owned / "logs" / "secret", account.pw_uid, account.pw_gid, 0o640, {0, account.pw_uid}
        )
    assert state(secret) == (0, 0, 0o600, b"root's\n")


def test_a_link_root_made_in_a_directory_only_root_changes_is_followed(base):
    (base / "real").mkdir()
    (base / "alias").symlink_to("real")
    assert safe_paths.ensure_directory(base / "alias" / "sub", 0, 0, 0o700) == "created"
    assert (base / "real" / "sub").is_dir()
    assert safe_paths.write_file(base / "alias" / "sub" / "f", b"x", 0, 0, 0o600) == "wrote"
    assert (base / "real" / "sub" / "f").read_bytes() == b"x"


def test_a_directory_others_can_change_is_refused_on_the_way(base):
    shared = base / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)  # not sticky: anyone may rename what is in it
    with pytest.raises(safe_paths.Refused, match=rf"^{shared} can be changed by accounts other"):
        safe_paths.ensure_directory(shared / "x", 0, 0, 0o755)
    assert not (shared / "x").exists()


def test_an_entry_of_another_account_is_refused(base, account):
    stranger = base / "static"
    stranger.mkdir()
    os.chown(stranger, account.pw_uid, -1)
    message = rf"^{stranger} is owned by {account.pw_name}, not root$"
    with pytest.raises(safe_paths.Refused, match=message):
        safe_paths.check(stranger, "dir", 0)
    with pytest.raises(safe_paths.Refused, match=message):
        safe_paths.ensure_directory(stranger, 0, 0, 0o755)
    assert os.lstat(stranger).st_uid == account.pw_uid


def test_a_file_of_the_wrong_type_is_refused(base, account):
    owned = base / "owned"
    owned.mkdir()
    os.chown(owned, account.pw_uid, account.pw_gid)
    os.mkfifo(owned / "portal.log")
    trusted = {0, account.pw_uid}
    with pytest.raises(safe_paths.Refused, match=r"portal.log is not a regular file$"):
        safe_paths.ensure_file(owned / "portal.log", account.pw_uid, account.pw_gid, 0o640, trusted)
    (owned / "rrd").write_text("")
    with pytest.raises(safe_paths.Refused, match=r"rrd is not a directory$"):
        safe_paths.check(owned / "rrd", "dir", account.pw_uid, trusted)


def test_a_hard_link_to_roots_file_is_refused(base, account, secret):
    owned = base / "owned"
    owned.mkdir()
    os.chown(owned, account.pw_uid, account.pw_gid)
    os.link(secret, owned / "portal.log")
    with pytest.raises(safe_paths.Refused, match=r"portal.log has 1 other hard links$"):
        safe_paths.ensure_file(
            owned / "portal.log", account.pw_uid, account.pw_gid, 0o640, {0, account.pw_uid}
        )
    assert state(secret) == (0, 0, 0o600, b"root's\n")


def test_an_empty_file_is_created_exclusively(base, account):
    made = base / "portal.log"
    assert safe_paths.ensure_file(made, account.pw_uid, account.pw_gid, 0o640) == "created"
    assert state(made) == (account.pw_uid, account.pw_gid, 0o640, b"")
    made.write_text("kept")
    assert safe_paths.ensure_file(made, account.pw_uid, account.pw_gid, 0o640) is None
    assert made.read_text() == "kept"


def test_files_with_content_are_written_whole_and_only_where_root_alone_writes(base, account):
    target = base / "etc" / "backup.toml"
    assert safe_paths.write_file(target, b"one\n", 0, account.pw_gid, 0o640) == "wrote"
    assert state(target) == (0, account.pw_gid, 0o640, b"one\n")
    assert safe_paths.write_file(target, b"two\n", 0, account.pw_gid, 0o640) == "updated"
    assert safe_paths.write_file(target, b"three\n", 0, 0, 0o640, keep_existing=True) == "set"
    assert target.read_bytes() == b"two\n"
    assert sorted(os.listdir(target.parent)) == ["backup.toml"]  # no temporary left
    owned = base / "owned"
    owned.mkdir()
    os.chown(owned, account.pw_uid, account.pw_gid)
    with pytest.raises(safe_paths.Refused, match=rf"^{owned} can be changed by {account.pw_name}"):
        safe_paths.write_file(owned / "f", b"x", 0, 0, 0o600)
    # Even when that account is trusted on the way: the temporary is made
    # only in a directory root alone can change.
    with pytest.raises(safe_paths.Refused, match=rf"^{owned} can be changed by {account.pw_name}"):
        safe_paths.write_file(owned / "f", b"x", 0, 0, 0o600, trusted={0, account.pw_uid})
    assert os.listdir(owned) == []
    # Below it, in a root-only directory, when it is trusted (the demo's
    # var/ in a checkout its owner may change).
    (owned / "var").mkdir()
    done = safe_paths.write_file(
        owned / "var" / "f", b"x", 0, 0, 0o600, trusted={0, account.pw_uid}
    )
    assert done == "wrote"


def test_a_refused_verification_leaves_the_target_and_no_temporary(base):
    target = base / "sudoers"
    safe_paths.write_file(target, b"good\n", 0, 0, 0o440)
    seen = []

    def verify(temporary):
        seen.append(Path(temporary).read_bytes())
        raise ValueError("invalid")

    with pytest.raises(ValueError, match="invalid"):
        safe_paths.write_file(target, b"bad\n", 0, 0, 0o440, verify=verify)
    assert seen == [b"bad\n"]
    assert target.read_bytes() == b"good\n"
    assert sorted(os.listdir(base)) == ["sudoers"]


def test_removing_a_tree_never_follows_a_link_in_it(base, account, secret):
    tree = base / "data"
    (tree / "rrd").mkdir(parents=True)
    (tree / "rrd" / "escape").symlink_to(base)
    (tree / "log").symlink_to(secret)
    assert safe_paths.remove(tree, {0, account.pw_uid})
    assert not tree.exists()
    assert state(secret) == (0, 0, 0o600, b"root's\n")
    assert safe_paths.remove(tree) is False


def test_a_tree_holding_a_link_or_a_strangers_file_is_refused(base, account):
    tree = base / "wrappers"
    (tree / "wrapperlib").mkdir(parents=True)
    safe_paths.check_tree(tree)
    (tree / "wrapperlib" / "x.py").write_text("")
    os.chown(tree / "wrapperlib" / "x.py", account.pw_uid, -1)
    with pytest.raises(safe_paths.Refused, match=rf"x.py can be changed by {account.pw_name}$"):
        safe_paths.check_tree(tree)
    (tree / "wrapperlib" / "x.py").unlink()
    (tree / "chmod.py").symlink_to("/bin/sh")
    with pytest.raises(safe_paths.Refused, match=rf"^{tree}/chmod.py is a symbolic link$"):
        safe_paths.check_tree(tree)


def test_the_demo_refuses_a_link_among_its_directories(base, secret):
    """bin/demo_runner.py makes var/ and what is in it through safe_paths."""
    import demo_runner

    victim = base / "victim"
    victim.mkdir(mode=0o700)
    (base / "var").mkdir()
    (base / "var" / "locks").symlink_to(victim)
    with pytest.raises(SystemExit) as refused:
        demo_runner.make_directories([(base / "var", 0o755), (base / "var" / "locks", 0o700)])
    assert str(refused.value) == (
        f"demo: {base}/var/locks is a symbolic link: remove it (or run bin/demo --reset) "
        "and start again"
    )
    assert state(victim) == (0, 0, 0o700, [])
