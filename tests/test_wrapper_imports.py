"""The query wrappers the portal calls on every page import only what they
use, from bytecode compiled once by the installer: a wrapper's CPU time is
mostly imports, paid on each call.

Behaviour, not time: each query runs for real (as root, on the session's
private installation with one volume) under ``python3 -X importtime``, and
must answer while never importing the modules below; the bytecode is root's
alone and checked against its source. bench/bench_wrapper_cost.py measures
the time.
"""

import importlib.util
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from support import backup_tools, wrapper_install

pytestmark = pytest.mark.root

# Needed only by wrappers that act, log tracebacks or read passwords; each
# cost a query wrapper between 1 and 10 ms of CPU.
HEAVY = frozenset(
    {
        "logging", "logging.handlers", "subprocess", "dataclasses", "inspect", "traceback",
        "ctypes", "unicodedata", "pickle", "threading", "tempfile", "shutil", "datetime",
        "pathlib", "typing", "importlib.resources",
    }
)  # fmt: skip
# A single volume's path is a pathlib Path (built under the configured roots).
ONE_VOLUME_MAY_IMPORT = frozenset({"pathlib"})


@pytest.fixture(scope="module")
def volume(wrappers):
    name = f"imp{wrappers.base.name.rsplit('-', 1)[-1]}"
    try:
        for wrapper, *args in (("useradd.py",), ("lvcreate.py", "1")):
            made = wrappers.run(wrapper, name, *args)
            assert made.returncode == 0, made.stderr
        yield name
    finally:
        for wrapper in ("lvremove.py", "deluser.py"):
            wrappers.run(wrapper, name)


def traced(wrappers, name, *args):
    """A wrapper run, and the modules it imported.

    -S (no site module): the host's .pth files may import modules at start
    (certifi, setuptools' shims), which would hide the same imports by the
    wrapper; what the wrappers import is what is checked here.
    """
    result = subprocess.run(
        ["/usr/bin/python3", "-IBS", "-X", "importtime", str(wrappers.path / name), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        check=False,
    )
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    # The import log was read: the wrappers' own modules are in it.
    assert "wrapperlib.cli" in modules, result.stderr[-2000:]
    return result, modules


@pytest.mark.parametrize(
    ("wrapper", "key"),
    [
        ("lvdisplay.py", "volumes"),
        ("vgdisplay.py", "free_bytes"),
        ("df.py", "volumes"),
        ("wrapper-settings.py", "backend"),
    ],
)
def test_a_query_wrapper_answers_without_importing_heavy_modules(wrappers, volume, wrapper, key):
    result, modules = traced(wrappers, wrapper)
    assert result.returncode == 0, result.stderr[-2000:]
    assert key in json.loads(result.stdout)
    assert modules & HEAVY == set()


def test_the_inventory_lists_the_volume_without_heavy_modules(wrappers, volume):
    result, modules = traced(wrappers, "lvdisplay.py")
    assert volume in [listed["user"] for listed in json.loads(result.stdout)["volumes"]]
    assert modules & HEAVY == set()


def test_one_volume_query_imports_pathlib_and_nothing_else_heavy(wrappers, volume):
    result, modules = traced(wrappers, "lvdisplay.py", volume)
    assert json.loads(result.stdout)["volume"]["user"] == volume
    assert modules & HEAVY <= ONE_VOLUME_MAY_IMPORT


# The one-volume backup scan (the dashboard's call) reads names and times
# (unicodedata, datetime) and forks a reader as the user; the thread pool of
# the all-volumes scan, Borg's config parser and dataclasses are not for it.
SCAN_MUST_NOT_IMPORT = frozenset(
    {
        "dataclasses", "inspect", "concurrent.futures", "threading", "logging",
        "configparser", "subprocess", "typing", "pickle",
    }
)  # fmt: skip


def test_the_one_volume_backup_scan_imports_only_what_a_scan_needs(wrappers):
    with backup_tools.backup_volume(wrappers) as (name, path):
        (path / "photos").mkdir()
        result, modules = traced(wrappers, "fetch_backups.py", name)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["user"] == name
    assert modules & SCAN_MUST_NOT_IMPORT == set()


def test_a_refusal_imports_nothing_heavy_either(wrappers):
    result, modules = traced(wrappers, "lvdisplay.py", "A")
    assert result.returncode == 2
    assert "lvdisplay.py: refused: invalid user name 'A'" in result.stderr
    assert modules & HEAVY == set()


# Bytecode compiled by the installer (bin/install-wrappers)


def pyc_of(source):
    return Path(importlib.util.cache_from_source(source))


def test_the_library_is_installed_with_root_only_hash_checked_bytecode(wrappers):
    sources = [
        *(wrappers.path / "wrapperlib").rglob("*.py"),
        wrappers.path / "wrappers_settings.py",
    ]
    assert len(sources) > 20
    for source in sources:
        compiled = pyc_of(source)
        info = os.stat(compiled)
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (0, 0o600), compiled
        assert stat.S_IMODE(os.stat(compiled.parent).st_mode) == 0o700
        # PEP 552 flags: hash-based (1) and checked against the source (2).
        assert int.from_bytes(compiled.read_bytes()[4:8], "little") == 0b11, compiled
    # Never for the administrator's own settings.
    assert not pyc_of(wrappers.path / "local_settings.py").exists()


def test_a_wrapper_imports_the_installed_bytecode(wrappers):
    verbose = subprocess.run(
        ["/usr/bin/python3", "-IB", "-v", str(wrappers.path / "vgdisplay.py")],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        check=False,
    )
    assert verbose.returncode == 0, verbose.stderr[-2000:]
    cli = wrappers.path / "wrapperlib" / "cli.py"
    assert f"# {pyc_of(cli)} matches {cli}" in verbose.stderr


def test_a_source_changed_in_place_runs_as_changed_not_from_its_bytecode():
    install = wrapper_install.create()
    try:
        validate = install.path / "wrapperlib" / "validate.py"
        text = validate.read_text()
        # Same length, so only the hash (not size or time) can tell.
        validate.write_text(text.replace("invalid user name", "INVALID user name"))
        refused = install.run("lvdisplay.py", "A")
        assert refused.returncode == 2
        assert "INVALID user name 'A'" in refused.stderr
    finally:
        wrapper_install.destroy(install)
