"""The floors of backup/ (backup/layers.py): every import of every module,
function-level ones too, read with ast and held to the one declared order;
and the checker shown to catch an upward import planted in a copy of the
code, so that its silence means something."""

import ast
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from backup.layers import EXCEPTIONS, FLOORS

PACKAGE = Path(__file__).resolve().parent.parent / "backup"
FLOOR_OF = {app: number for number, floor in enumerate(FLOORS) for app in floor}


@dataclass(frozen=True)
class Arrow:
    module: str  # the importing module, "backup.volumes.services"
    line: int
    app: str | None  # its app, None for the project's own modules
    target: str  # what it imports below backup: an app or a project module


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """The dotted names an import statement reaches, relative ones resolved."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        anchor = module.split(".")
        # A package's own __init__ is its anchor; a module's is its package.
        anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
        base = ".".join([*anchor, *([base] if base else [])])
    # "from backup import volumes" reaches the app through the alias.
    return [f"{base}.{alias.name}" if base == "backup" else base for alias in node.names]


def arrows(package: Path = PACKAGE) -> list[Arrow]:
    """Every import of another part of backup/ from a module under ``package``."""
    found = []
    for path in sorted(package.rglob("*.py")):
        module = module_name(path, package)
        parts = module.split(".")
        app = parts[1] if len(parts) > 1 and (package / parts[1]).is_dir() else None
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            for name in _imported(node, module, path.name == "__init__.py"):
                target = name.split(".")
                if target[0] != "backup" or len(target) < 2 or target[1] == app:
                    continue
                found.append(Arrow(module, node.lineno, app, target[1]))
    return found


def upward(found: list[Arrow]) -> list[str]:
    """The arrows the floors forbid and no exception explains."""
    wrong = []
    for arrow in found:
        if arrow.app is None:
            continue  # the project (settings, urls…) stands above every floor
        allowed = arrow.target in FLOOR_OF and FLOOR_OF[arrow.target] < FLOOR_OF[arrow.app]
        if not allowed and (arrow.module, arrow.target) not in EXCEPTIONS:
            wrong.append(f"{arrow.module}:{arrow.line} imports {arrow.target}")
    return wrong


def apps(package: Path = PACKAGE) -> set[str]:
    return {
        path.parent.name
        for path in package.glob("*/__init__.py")
        if path.parent.name != "settings"  # the project's settings, not an app
    }


def test_every_app_stands_on_one_floor():
    declared = [app for floor in FLOORS for app in floor]
    assert len(declared) == len(set(declared)), "an app is on two floors"
    assert set(declared) == apps()


def test_no_import_goes_up_or_sideways():
    assert upward(arrows()) == []


def test_every_exception_is_still_needed_and_says_why():
    """An arrow removed takes its exception with it (part B's, once merged)."""
    present = {(arrow.module, arrow.target) for arrow in arrows()}
    assert [key for key in EXCEPTIONS if key not in present] == []
    assert all(reason.strip() for reason in EXCEPTIONS.values())


def test_the_ground_floor_imports_no_other_app():
    assert [arrow for arrow in arrows() if arrow.app == "core"] == []


PLANTED = [
    # a module-level import, a floor up
    ("sso/names.py", "from backup.operations.errors import OperationInProgress\n", "operations"),
    # a function-level one (the checker reads every node, not only the top)
    (
        "volumes/quotas.py",
        "def _planted():\n    from backup.dashboard import views  # noqa\n",
        "dashboard",
    ),
    # sideways, on the same floor
    ("discovery/scans.py", "import backup.snapshots.listing\n", "snapshots"),
    # through the package, and relative beyond the app
    ("core/sizes.py", "from backup import volumes\n", "volumes"),
    ("stats/graphs.py", "from ..staff import views\n", "staff"),
    # the project's own modules are no floor an app may stand on
    ("pages/views.py", "from backup.urls import urlpatterns\n", "urls"),
]


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    """The code copied once; each test plants one line and takes it out."""
    copy = tmp_path_factory.mktemp("layers") / "backup"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert upward(arrows(copy)) == []  # the copy is as clean as the original
    return copy


@pytest.mark.parametrize(("module", "line", "target"), PLANTED)
def test_the_checker_catches_a_planted_upward_import(copy, module, line, target):
    planted = copy / module
    original = planted.read_text(encoding="utf-8")
    planted.write_text(original + "\n\n" + line, encoding="utf-8")
    try:
        [found] = upward(arrows(copy))
    finally:
        planted.write_text(original, encoding="utf-8")
    assert found.startswith(f"{module_name(planted, copy)}:")
    assert found.endswith(f" imports {target}")
