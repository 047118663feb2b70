"""The database settings: the single-server install's SQLite file, or the
PostgreSQL server that a portal with more than one storage server shares
with every node's worker (README "More than one server").

The PostgreSQL password is read from a file named in the configuration, never
written in it: the TOML file is readable by the service account and copied
between hosts by admins, and a password in a file of its own can be given to
exactly the account that needs it (and rotated) on its own.
"""

from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

# SQLite: the web process and the task worker share the file; wait for locks
# instead of failing at once, and take the write lock when a transaction
# starts, so two writers queue instead of one failing on upgrade.
SQLITE_OPTIONS = {"timeout": 20, "transaction_mode": "IMMEDIATE"}


def sqlite(path: Path | str) -> dict[str, Any]:
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": path, "OPTIONS": dict(SQLITE_OPTIONS)}


def read_password(path: Path) -> str:
    """The first line of the password file; refused when missing or empty."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ImproperlyConfigured(
            f"cannot read the PostgreSQL password file {path}: {error.strerror}"
        ) from None
    if not lines or not lines[0]:
        raise ImproperlyConfigured(f"the PostgreSQL password file {path} is empty")
    return lines[0]


def postgresql(
    *, host: str, port: int, name: str, user: str, password_file: Path | None
) -> dict[str, Any]:
    """Django's settings for PostgreSQL through psycopg 3. ``host`` is a host
    name or address, or an absolute directory holding the server's Unix
    socket (libpq's convention)."""
    for key, value in (("postgresql_database", name), ("postgresql_user", user)):
        if not value:
            raise ImproperlyConfigured(f"postgresql_host is set, so {key} must be too")
    if not 0 < port < 65536:
        raise ImproperlyConfigured(f"postgresql_port must be a TCP port, not {port}")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": host,
        "PORT": str(port),
        "NAME": name,
        "USER": user,
        "PASSWORD": read_password(password_file) if password_file else "",
        # A connection per process, kept between requests: the FastCGI
        # children and the workers each hold one, so a portal uses about
        # (children + workers) connections.
        "CONN_MAX_AGE": 600,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            # A page or a worker's step that waits on a lock longer than this
            # fails with an error instead of hanging its process.
            "options": "-c statement_timeout=60000 -c lock_timeout=20000",
        },
    }
