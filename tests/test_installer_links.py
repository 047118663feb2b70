"""A re-run of bin/install (the README's step after every git pull) follows
no link: the service user, who owns the data and log directories, can't
turn the installer into root's hand on the wrappers or on root's files.

Issue 19's three reproductions, then a link planted at every path in the
installer's own table of managed paths (Layout.managed(), so a path added
there is covered here): each refused in one sentence naming it, by
bin/install and by bin/uninstall, with nothing at all changed."""

import os
import stat
import subprocess
from pathlib import Path

import pytest

from support import accounts, deployment

pytestmark = [pytest.mark.root, pytest.mark.slow]

# The table for a template installation, read at collection time to name
# one test per managed path.
_TEMPLATE = deployment.Installation(
    prefix=Path("/var/tmp/bmd-000000"), user="bmd000000", managed_group="bmdg000000"
)


def _name(installation, entry):
    return str(entry.path).replace(str(installation.prefix), "").replace(installation.user, "USER")


MANAGED = [
    _name(_TEMPLATE, entry)
    for entry in deployment.layout_for(deployment.options_for(_TEMPLATE)).managed()
]


@pytest.fixture(scope="module")
def installed():
    installation = deployment.create()
    try:
        first = installation.install()
        assert first.returncode == 0, first.stdout + first.stderr
        yield installation
    finally:
        deployment.destroy(installation)


@pytest.fixture
def decoys(installed):
    """Root-only things a planted link leads to: a directory with a file in
    it, and a file (a valid sudoers comment, 0440: a link planted at the
    sudoers entry must not break sudo for the rest of the machine)."""
    directory = installed.prefix / "decoy-dir"
    directory.mkdir(mode=0o700)
    (directory / "inside").write_text("root's\n")
    file = installed.prefix / "decoy-file"
    file.write_text("# root's decoy\n")
    os.chmod(file, 0o440)
    try:
        yield directory, file
    finally:
        subprocess.run(["rm", "-rf", str(directory), str(file)], check=True)


def as_service_user(installation, *argv):
    done = installation.as_service_user(*argv)
    assert done.returncode == 0, done.stderr
    return done


def owner_mode(path):
    info = os.lstat(path)
    return info.st_uid, stat.S_IMODE(info.st_mode)


def assert_refused(run, path, command="bin/install"):
    assert run.returncode != 0
    assert run.stdout == ""
    assert run.stderr == f"{command}: {path} is a symbolic link: refusing to change anything\n"


# --- The reproductions ----------------------------------------------------


def test_rrd_linked_to_the_wrappers_does_not_hand_them_to_the_service_user(installed):
    layout = installed.layout()
    as_service_user(installed, "rm", "-r", str(layout.rrd_dir))
    as_service_user(installed, "ln", "-s", str(installed.wrappers), str(layout.rrd_dir))
    before = installed.tree()
    try:
        again = installed.install()
        assert_refused(again, layout.rrd_dir)
        assert owner_mode(installed.wrappers) == (0, 0o700)
        assert owner_mode(installed.wrappers / "chmod.py") == (0, 0o700)
        assert installed.tree() == before
        # So the service user can't replace a wrapper and run it as root.
        replace = installed.as_service_user("touch", str(installed.wrappers / "chmod.py"))
        assert replace.returncode != 0
    finally:
        os.unlink(layout.rrd_dir)
    again = installed.install()
    assert again.returncode == 0, again.stderr
    assert f"created {layout.rrd_dir}" in again.stdout
    assert owner_mode(layout.rrd_dir) == (installed.uid(), 0o750)


def test_portal_log_linked_to_a_root_only_file_leaves_that_file_roots(installed, decoys):
    _, secret = decoys
    layout = installed.layout()
    as_service_user(installed, "rm", str(layout.portal_log))
    as_service_user(installed, "ln", "-s", str(secret), str(layout.portal_log))
    before = installed.tree()
    try:
        assert_refused(installed.install(), layout.portal_log)
        assert owner_mode(secret) == (0, 0o440)
        assert secret.read_text() == "# root's decoy\n"
        assert installed.tree() == before
    finally:
        os.unlink(layout.portal_log)
    assert installed.install().returncode == 0


def test_a_link_at_a_temporary_name_truncates_nothing(installed, decoys):
    """The old installer wrote a missing portal.log through .portal.log.new;
    now the log is created with O_EXCL and nothing else is written in a
    directory the service user can change."""
    _, secret = decoys
    layout = installed.layout()
    as_service_user(installed, "rm", str(layout.portal_log))
    planted = layout.portal_log.with_name(".portal.log.new")
    as_service_user(installed, "ln", "-s", str(secret), str(planted))
    try:
        again = installed.install()
        assert again.returncode == 0, again.stderr
        assert f"wrote {layout.portal_log}" in again.stdout
        assert secret.read_text() == "# root's decoy\n"
        assert owner_mode(secret) == (0, 0o440)
        assert os.readlink(planted) == str(secret)
        assert owner_mode(layout.portal_log) == (installed.uid(), 0o640)
        assert layout.portal_log.read_bytes() == b""
    finally:
        os.unlink(planted)


# --- Every path in the installer's table --------------------------------


def test_the_service_user_can_reach_some_managed_paths(installed):
    """The ones in a directory it owns: planted by it below, not by root."""
    layout = installed.layout()
    reachable = [_name(installed, entry) for entry in service_user_reaches(layout)]
    assert set(reachable) >= {
        "/var/lib/backupmanagement/rrd",
        "/var/log/backupmanagement/portal.log",
    }


def service_user_reaches(layout):
    theirs = {e.path for e in layout.managed() if e.kind == "dir" and e.owner == layout.user}
    return [entry for entry in layout.managed() if entry.path.parent in theirs]


@pytest.mark.parametrize("name", MANAGED)
def test_a_link_at_any_managed_path_is_refused_and_changes_nothing(installed, decoys, name):
    layout = installed.layout()
    entry = next(entry for entry in layout.managed() if _name(installed, entry) == name)
    target = decoys[0] if entry.kind == "dir" else decoys[1]
    aside = entry.path.with_name(f"{entry.path.name}.aside")
    if entry in service_user_reaches(layout):
        as_service_user(installed, "mv", str(entry.path), str(aside))
        as_service_user(installed, "ln", "-s", str(target), str(entry.path))
    else:
        os.rename(entry.path, aside)
        entry.path.symlink_to(target)
    try:
        before = installed.tree()
        assert_refused(installed.install(), entry.path)
        assert installed.tree() == before
        # bin/uninstall checks the same table before it stops or removes anything.
        removing = subprocess.run(
            [str(deployment.REPO / "bin" / "uninstall"), *installed.options, "--purge"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert_refused(removing, entry.path, command="bin/uninstall")
        assert installed.tree() == before
        assert accounts.exists(installed.user)
    finally:
        os.unlink(entry.path)
        os.rename(aside, entry.path)
    assert installed.install().stdout == "bin/install: nothing to change, already installed.\n"


def test_a_managed_path_of_another_account_or_type_is_refused(installed):
    layout = installed.layout()
    with accounts.outsider() as stranger:
        os.chown(layout.static_root, stranger.pw_uid, -1)
        try:
            before = installed.tree()
            refused = installed.install()
            assert refused.returncode != 0
            assert refused.stderr == (
                f"bin/install: {layout.static_root} is owned by {stranger.pw_name}, not root: "
                "refusing to change anything\n"
            )
            assert installed.tree() == before
        finally:
            os.chown(layout.static_root, 0, -1)
    as_service_user(installed, "rm", "-r", str(layout.rrd_dir))
    as_service_user(installed, "touch", str(layout.rrd_dir))
    try:
        refused = installed.install()
        assert refused.stderr == (
            f"bin/install: {layout.rrd_dir} is not a directory: refusing to change anything\n"
        )
    finally:
        os.unlink(layout.rrd_dir)
    assert installed.install().returncode == 0


def test_a_refused_first_install_creates_no_account_group_or_file():
    """Validate first: every path is checked before the accounts are made."""
    installation = deployment.create()
    try:
        layout = installation.layout()
        with accounts.outsider() as stranger:
            layout.static_root.mkdir(parents=True)
            os.chown(layout.static_root, stranger.pw_uid, -1)
            before = deployment.tree(installation.prefix)
            refused = installation.install()
            assert refused.returncode != 0
            assert f"{layout.static_root} is owned by {stranger.pw_name}" in refused.stderr
            assert deployment.tree(installation.prefix) == before
            assert not installation.sudoers.exists()
            assert accounts.exists(installation.user) is False
            assert subprocess.run(["getent", "group", installation.managed_group]).returncode
    finally:
        deployment.destroy(installation)


def test_start_sh_refuses_root_before_the_portal_opens_its_log(installed, decoys):
    """The production settings open portal.log, which the service user can
    replace with a link: root must never get as far as opening it."""
    _, secret = decoys
    layout = installed.layout()
    as_service_user(installed, "rm", str(layout.portal_log))
    as_service_user(installed, "ln", "-s", str(secret), str(layout.portal_log))
    try:
        refused = subprocess.run(
            [str(deployment.REPO / "bin" / "start.sh")],
            env=installed.env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode == 2
        assert refused.stderr == (
            "bin/start.sh: refusing to run as root: run it as the service user "
            "(sudo -u backupmanagement bin/start.sh)\n"
        )
        assert secret.read_text() == "# root's decoy\n"
        assert owner_mode(secret) == (0, 0o440)
        assert installed.daemon_pid() is None
    finally:
        os.unlink(layout.portal_log)
    assert installed.install().returncode == 0
