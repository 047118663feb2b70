"""Fixtures shared by every test module."""

import itertools
import os
import shutil

import pytest

from support import accounts, wrapper_install

IS_ROOT = os.geteuid() == 0
_EMPLOYEE_NUMBERS = itertools.count()

pytest_plugins = [
    "support.browser",
    "support.people",
    "support.samba_share",
    "support.snapshot_outputs",
]


def pytest_collection_modifyitems(items):
    """Tests marked root skip, saying why, when not run as root."""
    if IS_ROOT:
        return
    skip = pytest.mark.skip(reason="needs root (loop devices, mounts, accounts): run sudo bin/test")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)


def require_tool(name):
    """Skip, saying which package is missing, when a tool is not installed."""
    if shutil.which(name) is None:
        pytest.skip(f"{name} is not installed (bin/setup installs it)")


@pytest.fixture(autouse=True)
def _no_inventory_from_another_test():
    """The admin page reuses its inventory for a few seconds: never one a
    test before this one took."""
    from django.core.cache import caches

    caches["inventory"].clear()


@pytest.fixture(autouse=True)
def _site_language_after_each_test():
    """A page rendered through the test client leaves its language active in
    the thread (LocaleMiddleware activates it and nothing deactivates it):
    a later test would get Finnish sentences where it expects English."""
    yield
    from django.utils import translation

    translation.deactivate()


@pytest.fixture(scope="session")
def wrappers():
    """A private installation of the real wrappers (see support/wrapper_install)."""
    if not IS_ROOT:
        pytest.skip("needs root: the wrappers refuse to run otherwise")
    install = wrapper_install.create()
    try:
        yield install
    finally:
        wrapper_install.destroy(install)


@pytest.fixture
def portal(wrappers, settings, db):
    """The portal pointed at the session's real wrappers."""
    settings.WRAPPERS_PATH = wrappers.path
    settings.DIRECTORIES_ROOT = wrappers.settings["DIRECTORIES_ROOT"]
    return wrappers


@pytest.fixture
def account(wrappers):
    """A fresh backup account (useradd.py, generated name), removed
    afterwards if the test did not."""
    name = accounts.create_backup_account(wrappers)
    try:
        yield name
    finally:
        accounts.remove_backup_account(wrappers, name)


@pytest.fixture
def tmpfs_volume(wrappers, account):
    """A small tmpfs standing in for the account's mounted volume (owned by
    it, mode 0700): for wrappers that only need one mounted. Its path."""
    with accounts.tmpfs_volume(wrappers, account) as path:
        yield path


@pytest.fixture
def make_employee(portal, django_user_model):
    """Makes Django users with session-unique names; afterwards removes any
    volume and backup account the test left for them, through the wrappers."""
    made = []
    token = portal.base.name.rsplit("-", 1)[-1]

    def make(prefix="emp", **fields):
        # Unique for the whole session, not per test: a name left behind by a
        # test whose cleanup failed must not make every later test fail too.
        name = f"{prefix}{token}{next(_EMPLOYEE_NUMBERS)}"
        made.append(name)
        return django_user_model.objects.create(username=name, **fields)

    yield make
    for name in made:
        for wrapper in ("umount.py", "lvremove.py", "rmdir.py", "deluser.py"):
            portal.run(wrapper, name)


@pytest.fixture
def make_real_volume(portal, make_employee):
    """make(prefix="emp", **fields) -> a Volume made through the portal's
    services on the real wrappers (its create operation succeeded), for a
    new employee (make_employee: removed afterwards)."""
    from backup.operations.models import Operation
    from backup.volumes import requests as services
    from backup.volumes.models import Volume

    def make(prefix="emp", **fields):
        employee = make_employee(prefix, **fields)
        operation = services.request_create(employee, employee)
        operation.refresh_from_db()
        assert operation.state == Operation.State.SUCCEEDED, operation.detail
        return Volume.objects.get(owner=employee)

    return make
