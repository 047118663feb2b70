"""bin/install refuses a checkout that anyone but root could change, before
it imports, runs or copies anything: a service account that can replace the
clone (its parent is that account's, a file in it is group-writable, a path
component is a symlink it can re-point) must not become root through it."""

import os
import pwd
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from support import deployment

pytestmark = [pytest.mark.root]


def _tracked_files():
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=deployment.REPO, capture_output=True, check=True
    ).stdout
    return [name.decode() for name in listed.split(b"\0") if name]


@pytest.fixture
def copy_of_checkout():
    """A root-owned copy of the checkout's files under a fresh directory,
    a throwaway account that can play the service user, and the names an
    install from it would create."""
    token = secrets.token_hex(3)
    base = Path(f"/var/tmp/bmx-{token}")
    checkout = base / "parent" / "backup"
    for name in _tracked_files():
        target = checkout / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(deployment.REPO / name, target)
    for directory in (base, base / "parent", *[p for p in checkout.rglob("*") if p.is_dir()]):
        os.chmod(directory, 0o755)
    os.chmod(checkout, 0o755)
    account = f"bmx{token}"
    subprocess.run(["useradd", "--system", "--no-create-home", account], check=True)
    try:
        yield base, checkout, account, token
    finally:
        subprocess.run(["userdel", account], check=False, capture_output=True)
        subprocess.run(["groupdel", account], check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def _install(checkout, token):
    prefix = checkout.parent.parent / "prefix"
    prefix.mkdir(exist_ok=True)
    run = subprocess.run(
        [
            str(checkout / "bin" / "install"),
            "--prefix", str(prefix),
            "--user", f"bmy{token}",
            "--managed-group", f"bmyg{token}",
            "--hostname", "localhost",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    return run, prefix


def _assert_nothing_changed(run, prefix, token, what):
    assert run.returncode != 0
    assert "refusing to run as root from" in run.stderr, run.stderr
    assert what in run.stderr, run.stderr
    assert "Nothing was changed." in run.stderr
    assert list(prefix.iterdir()) == []
    with pytest.raises(KeyError):
        pwd.getpwnam(f"bmy{token}")
    assert not Path(f"/etc/sudoers.d/bmy{token}").exists()
    assert subprocess.run(["getent", "group", f"bmyg{token}"], capture_output=True).returncode


def test_a_root_owned_copy_passes_the_check(copy_of_checkout):
    _, checkout, _, _ = copy_of_checkout
    checked = subprocess.run(
        ["/usr/bin/python3", "-I", "-c", _CHECK, str(checkout)], capture_output=True, text=True
    )
    assert checked.stdout.strip() == "None", checked.stdout + checked.stderr


def test_a_checkout_whose_parent_the_service_user_owns_is_refused(copy_of_checkout):
    _, checkout, account, token = copy_of_checkout
    os.chown(checkout.parent, pwd.getpwnam(account).pw_uid, -1)
    run, prefix = _install(checkout, token)
    _assert_nothing_changed(run, prefix, token, f"{checkout.parent} is owned by {account}")


def test_a_group_writable_wrapper_file_is_refused(copy_of_checkout):
    _, checkout, _, token = copy_of_checkout
    wrapper = checkout / "wrappers" / "mkdir.py"
    os.chmod(wrapper, 0o775)
    run, prefix = _install(checkout, token)
    _assert_nothing_changed(run, prefix, token, f"{wrapper} is writable by others than root")


def test_a_file_owned_by_another_account_is_refused(copy_of_checkout):
    _, checkout, account, token = copy_of_checkout
    module = checkout / "backup" / "settings" / "base.py"
    os.chown(module, pwd.getpwnam(account).pw_uid, -1)
    run, prefix = _install(checkout, token)
    _assert_nothing_changed(run, prefix, token, f"{module} is owned by {account}")


def test_a_symlinked_path_component_is_refused(copy_of_checkout):
    base, checkout, _, token = copy_of_checkout
    link = base / "link"
    link.symlink_to(checkout.parent)
    prefix = base / "prefix"
    prefix.mkdir()
    run = subprocess.run(
        [str(link / "backup" / "bin" / "install"), "--prefix", str(prefix),
         "--user", f"bmy{token}", "--managed-group", f"bmyg{token}", "--hostname", "localhost"],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    _assert_nothing_changed(run, prefix, token, f"{link} is a symbolic link")


_CHECK = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("installer", sys.argv[1] + "/bin/installer.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(module.untrusted_checkout(sys.argv[1]))
"""
