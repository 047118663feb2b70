"""The service user's files: the RRD directory, the database, the static files."""

import os
import stat
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from .base import INSTALL_HINT, fail, ok


def _missing_directory(path, context):
    """Why path is not a directory the service user can reach, or None."""
    try:
        if stat.S_ISDIR(os.stat(path).st_mode):
            return None
        return f"{path} is not a directory: remove it, then {INSTALL_HINT}"
    except FileNotFoundError:
        return f"{path} does not exist: {INSTALL_HINT}"
    except PermissionError:
        return (
            f"{context.user.pw_name} cannot reach {path}: make its parent directories "
            "traversable (chmod o+x)"
        )


def _writable_directory(name, path, context):
    directory = Path(path)
    problem = _missing_directory(directory, context)
    if problem:
        return fail(name, problem)
    if not context.writable(directory):
        return fail(
            name,
            f"{directory} is not writable by {context.user.pw_name}: "
            f"chown {context.user.pw_name} {directory} ({INSTALL_HINT})",
        )
    return ok(name, f"{directory} writable by {context.user.pw_name}")


def rrd_directory(context):
    return _writable_directory("RRD directory", settings.RRD_DIRECTORY, context)


def database(context):
    path = Path(str(settings.DATABASES["default"]["NAME"]))
    result = _writable_directory("database", path.parent, context)
    if result.is_serious():
        return result
    if not path.exists():
        # Opening it here would create it, owned by whoever runs the check.
        return fail("database", f"{path} does not exist: run migrate ({INSTALL_HINT})")
    if not context.writable(path):
        return fail(
            "database",
            f"{path} is not writable by {context.user.pw_name}: "
            f"chown {context.user.pw_name} {path}",
        )
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        return fail("database", f"{len(pending)} migrations not applied: run migrate")
    return ok("database", f"{path} up to date")


def static_files(context):
    root = Path(settings.STATIC_ROOT)
    if not (root / "admin").is_dir():
        return fail("static files", f"{root} is not collected: run collectstatic ({INSTALL_HINT})")
    return ok("static files", f"collected in {root}")
