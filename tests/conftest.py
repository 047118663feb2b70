"""Fixtures shared by every test module."""

import os
import shutil

import pytest
from support import wrapper_install

IS_ROOT = os.geteuid() == 0


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
