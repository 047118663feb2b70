"""The Python dependencies install reproducibly: every file by hash, from
locks generated from short lists of direct dependencies, production apart
from the test stack.

bin/lock-requirements writes the locks; these checks catch a .in edited
without regenerating, a hand-added pin without hashes, a test tool leaking
into production, and a bin/setup that stops requiring hashes.
"""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LOCKS = {
    "requirements-build.in": "requirements-build.txt",
    "requirements.in": "requirements.txt",
    "requirements-test.in": "requirements-test.txt",
}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def direct_pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "-c ")):
            continue
        match = PIN.match(line)
        assert match, f"{path.name}: '{line}' is not an exact pin (NAME==VERSION)"
        pins[canonical(match[1])] = match[2]
    return pins


def locked(path: Path) -> dict[str, tuple[str, int]]:
    """{package: (version, number of hashes)} of a lock file."""
    entries: dict[str, tuple[str, int]] = {}
    current = None
    for line in path.read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = canonical(match[1])
            entries[current] = (match[2], 0)
        elif line.strip().startswith("--hash=sha256:") and current:
            version, count = entries[current]
            entries[current] = (version, count + 1)
    return entries


@pytest.mark.parametrize(("source", "lock"), sorted(LOCKS.items()))
def test_every_locked_package_is_pinned_with_hashes(source, lock):
    entries = locked(REPO / lock)
    assert entries, f"{lock} pins nothing"
    unhashed = sorted(name for name, (_, hashes) in entries.items() if hashes == 0)
    assert not unhashed, f"{lock}: no hash for {unhashed}"


@pytest.mark.parametrize(("source", "lock"), sorted(LOCKS.items()))
def test_the_lock_agrees_with_its_direct_dependencies(source, lock):
    entries = locked(REPO / lock)
    for name, version in direct_pins(REPO / source).items():
        assert name in entries, f"{source} names {name}, {lock} lacks it: run bin/lock-requirements"
        assert entries[name][0] == version, (
            f"{source} pins {name}=={version}, {lock} has {entries[name][0]}: "
            "run bin/lock-requirements"
        )


def test_the_test_lock_keeps_the_production_versions():
    production = locked(REPO / "requirements.txt")
    for name, (version, _) in locked(REPO / "requirements-test.txt").items():
        if name in production:
            assert production[name][0] == version, name


def test_production_installs_no_test_tool():
    production = locked(REPO / "requirements.txt")
    for tool in ("pytest", "playwright", "ruff", "mypy", "hypothesis", "django-stubs"):
        assert tool not in production, f"{tool} is in the production lock"


def test_setup_installs_only_by_hash_and_the_test_stack_only_for_tests():
    text = (REPO / "bin" / "setup").read_text()
    installs = [line for line in text.splitlines() if re.search(r"\bpip install\b", line)]
    assert installs, "bin/setup installs nothing with pip"
    for line in installs:
        assert "--require-hashes" in line, f"bin/setup installs without hashes: {line.strip()}"
    # The test lock is added only under --test.
    assert re.search(r"with_tests.*requirements-test\.txt", text)
    assert "bin/setup --test" in (REPO / "bin" / "test").read_text()
    assert "--test" not in (REPO / "bin" / "demo").read_text()
