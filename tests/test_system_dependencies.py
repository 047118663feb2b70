"""Everything the project runs or loads from the system comes from
bin/setup's package list, so a fresh host has it.

A development machine holds packages earlier work installed: once a green
suite hid samba-vfs-modules, which bin/setup never installed, and on a
fresh host every Samba share failed. So each thing the project takes from
the system is resolved to its Debian package with ``dpkg -S`` and must be
one bin/setup requires, or in the dependency closure of those:

- every command in the wrappers' command table (and the interpreter and
  ACL binding the wrappers run on),
- every Samba VFS module the generated share names (in smbd's MODULESDIR),
- every shared library the virtualenv's compiled bindings link.
"""

import ast
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from backup.deployment.checks import samba as samba_checks
from backup.samba import config as samba_config
from support import postgres

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "wrappers"))

from wrapperlib import commands  # noqa: E402

pytestmark = pytest.mark.skipif(
    not Path("/usr/bin/dpkg-query").exists(), reason="needs a Debian or Ubuntu host (dpkg)"
)


def setup_list(variable):
    text = (REPO / "bin" / "setup").read_text()
    match = re.search(rf'^{variable}="([^"]*)"', text, flags=re.MULTILINE)
    assert match, f"bin/setup has no {variable} list"
    return set(match.group(1).split())


@cache
def installed_packages():
    """{package: (dependency groups, provided names)} of what is installed."""
    listing = subprocess.run(
        [
            "dpkg-query", "-W",
            "-f=${Package}\\t${db:Status-Abbrev}\\t${Pre-Depends}\\t${Depends}\\t${Provides}\\n",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout  # fmt: skip
    packages = {}
    for line in listing.splitlines():
        name, status, pre, depends, provides = line.split("\t")
        if not status.startswith("ii"):
            continue
        groups = [
            [
                re.split(r"[\s(:]", alternative.strip(), maxsplit=1)[0]
                for alternative in group.split("|")
            ]
            for group in f"{pre},{depends}".split(",")
            if group.strip()
        ]
        provided = [re.split(r"[\s(]", item.strip(), maxsplit=1)[0] for item in provides.split(",")]
        packages[name] = (groups, [item for item in provided if item])
    return packages


@cache
def closure(*lists: str):
    """bin/setup's required packages (``REQUIRED``, or the lists named) and
    everything they depend on (among what is installed: an alternative or a
    virtual package counts through whichever installed package satisfies
    it)."""
    packages = installed_packages()
    providers = {}
    for name, (_, provided) in packages.items():
        for item in provided:
            providers.setdefault(item, set()).add(name)
    wanted = sorted(set().union(*(setup_list(name) for name in lists or ("REQUIRED",))))
    missing = [name for name in wanted if name not in packages]
    assert not missing, f"bin/setup's required packages are not installed: {missing}"
    seen, stack = set(), list(wanted)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        for group in packages[name][0]:
            for alternative in group:
                stack += [item for item in {alternative} | providers.get(alternative, set())
                          if item in packages]  # fmt: skip
    return seen


def owning_package(path):
    """The installed package that owns path (trying its usrmerge twins and
    its resolved target too), or None."""
    candidates = [str(path), os.path.realpath(path)]
    for candidate in list(candidates):
        for a, b in (("/usr/sbin/", "/sbin/"), ("/usr/bin/", "/bin/"), ("/usr/lib/", "/lib/")):
            if candidate.startswith(a):
                candidates.append(b + candidate[len(a) :])
            elif candidate.startswith(b):
                candidates.append(a + candidate[len(b) :])
    for candidate in dict.fromkeys(candidates):
        found = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if found.returncode == 0:
            return found.stdout.split(":", 1)[0].split(",")[0].strip()
    return None


def assert_all_from_setup(paths, what, lists=("REQUIRED",)):
    problems = []
    for path in sorted(set(paths)):
        package = owning_package(path)
        if package is None:
            problems.append(f"{path}: no Debian package owns it")
        elif package not in closure(*lists):
            problems.append(f"{path}: from {package}, which bin/setup does not install")
    assert not problems, f"{what}:\n" + "\n".join(problems)


def test_every_command_the_wrappers_run_comes_from_setup():
    paths = []
    for name in sorted(commands.COMMANDS):
        path = next(
            (Path(d, name) for d in commands.SEARCH_DIRS if os.access(Path(d, name), os.X_OK)),
            None,
        )
        assert path is not None, f"{name} is in the wrappers' command table but not installed"
        paths.append(path)
    acl = subprocess.run(
        ["/usr/bin/python3", "-I", "-c", "import posix1e; print(posix1e.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert_all_from_setup([*paths, Path("/usr/bin/python3"), Path(acl)], "wrappers' commands")


def _first_words_of_commands(tree):
    """The command names wrapper code passes to commands.run / _lvm: the
    first string of a list literal given as an argument, or a string given
    as the first argument of _lvm/_report."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        function = (
            node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        )
        arguments = node.args[:1]
        if function in ("run", "executable") and arguments and isinstance(arguments[0], ast.List):
            first = arguments[0].elts[:1]
            if first and isinstance(first[0], ast.Constant) and isinstance(first[0].value, str):
                yield first[0].value
        elif (
            function in ("_lvm", "_report") and arguments and isinstance(arguments[0], ast.Constant)
        ):
            yield arguments[0].value


def test_the_wrappers_run_only_commands_in_their_table():
    used = set()
    for path in (REPO / "wrappers").rglob("*.py"):
        used |= set(_first_words_of_commands(ast.parse(path.read_text())))
    used |= {argv[0] for argv in __import__("wrapperlib.filesystems").filesystems.MKFS.values()}
    assert used, "found no command in the wrappers' code"
    assert used <= commands.COMMANDS, (
        f"not in the command table: {sorted(used - commands.COMMANDS)}"
    )


def test_every_vfs_module_the_share_names_comes_from_setup():
    directory = samba_checks._modules_dir()
    assert directory is not None, "smbd -b names no MODULESDIR"
    modules = samba_config.vfs_modules()
    assert "fruit" in modules
    paths = [directory / "vfs" / f"{module}.so" for module in modules]
    missing = [str(path) for path in paths if not path.exists()]
    assert not missing, f"VFS modules the share names are not installed: {missing}"
    assert_all_from_setup(paths, "Samba VFS modules")


def test_every_library_the_venvs_compiled_bindings_link_comes_from_setup():
    venv = REPO / ".venv"
    bindings = [path for path in venv.rglob("*.so") if path.is_file()]
    assert bindings, "no compiled binding in the virtualenv"
    libraries = set()
    for binding in bindings:
        linked = subprocess.run(["ldd", str(binding)], capture_output=True, text=True)
        for line in linked.stdout.splitlines():
            match = re.search(r"=>\s+(/\S+)", line) or re.match(r"\s*(/\S+)\s+\(", line)
            if match and not Path(match.group(1)).resolve().is_relative_to(venv.resolve()):
                libraries.add(Path(match.group(1)))
    assert any("librrd" in path.name for path in libraries), "rrdtool's binding links no librrd?"
    assert_all_from_setup(libraries, "libraries of the virtualenv's compiled bindings")


def test_the_postgresql_server_the_suite_starts_comes_from_setup_test():
    # The multi-server tests make their own cluster (tests/support/postgres.py):
    # a fresh host running bin/setup --test must have these programs.
    programs = [Path(postgres._bin(name)) for name in ("initdb", "pg_ctl", "postgres")]
    assert_all_from_setup(programs, "PostgreSQL server programs", ("REQUIRED", "TEST_REQUIRED"))
