"""Row-level security on PostgreSQL, for the migrations that hold each
node's database role to its own rows. SQLite (the single-server install)
has no roles, and the migrations do nothing there. The table's owner (the
portal's role) is not held: only the roles it grants rights to."""

from collections.abc import Callable
from typing import Any


def policy(table: str, name: str, own_rows: str) -> tuple[Callable, Callable]:
    """(forwards, backwards) for RunPython: every role but the owner sees,
    changes and adds only rows for which the SQL condition ``own_rows`` holds."""

    def enable(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        schema_editor.execute(
            f"CREATE POLICY {name} ON {table} USING ({own_rows}) WITH CHECK ({own_rows})"
        )

    def disable(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
        schema_editor.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")

    return enable, disable
