"""A private PostgreSQL cluster for the tests: made with initdb in a
directory of its own, run by the ``postgres`` account that Debian's package
creates (the server refuses to run as root), listening only on a Unix socket
in that directory (so no port is shared with anything else on the machine),
and stopped and removed whatever happened.

Every connection authenticates with a password (scram-sha-256), as a
portal and its nodes would across machines; the tests' roles get theirs
from ``create_role``.
"""

import contextlib
import glob
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

ACCOUNT = "postgres"
SUPERUSER = "postgres"
# The socket's name is .s.PGSQL.<port> inside the cluster's own directory:
# the standard port can't collide with another server's.
PORT = 5432
START_SECONDS = 60


def _bin(name: str) -> str:
    """A server program of the newest PostgreSQL major installed."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_major)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (bin/setup --test)")
    return found[-1]


def _major(path: str) -> int:
    return int(Path(path).parent.parent.name)


def _as_account(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["runuser", "-u", ACCOUNT, "--", *argv], capture_output=True, text=True, check=False
    )


@dataclass
class Cluster:
    directory: Path
    superuser_password: str

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def socket_directory(self) -> Path:
        return self.directory / "socket"

    @property
    def log(self) -> Path:
        return self.directory / "server.log"

    def connect(self, user: str = SUPERUSER, password: str | None = None, dbname: str = "postgres"):
        if password is None and user == SUPERUSER:
            password = self.superuser_password
        return psycopg.connect(
            host=str(self.socket_directory),
            port=PORT,
            user=user,
            password=password,
            dbname=dbname,
            autocommit=True,
        )

    def execute(self, statement, *params, dbname: str = "postgres") -> list[tuple]:
        with self.connect(dbname=dbname) as connection:
            cursor = connection.execute(statement, params or None)
            return cursor.fetchall() if cursor.description else []

    def create_role(self, name: str, *, login: bool = True) -> str:
        """A new role with a generated password; the password."""
        password = secrets.token_urlsafe(24)
        self.execute(
            sql.SQL("CREATE ROLE {} {} PASSWORD {}").format(
                sql.Identifier(name),
                sql.SQL("LOGIN" if login else "NOLOGIN"),
                sql.Literal(password),
            )
        )
        return password

    def create_database(self, name: str, owner: str) -> None:
        self.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(owner)
            )
        )

    def settings(self, name: str, user: str, password: str) -> dict:
        """Django's DATABASES entry for database ``name`` as ``user``."""
        return {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": str(self.socket_directory),
            "PORT": str(PORT),
            "NAME": name,
            "USER": user,
            "PASSWORD": password,
        }


def _initdb(cluster: Cluster) -> None:
    password_file = cluster.directory / "superuser-password"
    password_file.write_text(cluster.superuser_password + "\n")
    shutil.chown(password_file, ACCOUNT)
    made = _as_account(
        _bin("initdb"),
        "--pgdata",
        str(cluster.data),
        "--username",
        SUPERUSER,
        "--pwfile",
        str(password_file),
        "--auth",
        "scram-sha-256",
        "--encoding",
        "UTF8",
        "--locale",
        "C.UTF-8",
        "--no-instructions",
    )
    password_file.unlink()
    if made.returncode != 0:
        raise RuntimeError(f"initdb failed: {made.stderr.strip()}")


def _start(cluster: Cluster) -> None:
    options = " ".join(
        (
            "-c listen_addresses=''",
            f"-c unix_socket_directories={cluster.socket_directory}",
            f"-p {PORT}",
            # A throwaway cluster: durability across a power cut buys nothing
            # here and costs the suite seconds per test.
            "-c fsync=off",
            "-c synchronous_commit=off",
            "-c full_page_writes=off",
            "-c max_connections=200",
        )
    )
    started = _as_account(
        _bin("pg_ctl"),
        "start",
        "--wait",
        f"--timeout={START_SECONDS}",
        "--pgdata",
        str(cluster.data),
        "--log",
        str(cluster.log),
        "-o",
        options,
    )
    if started.returncode != 0:
        log = cluster.log.read_text() if cluster.log.exists() else ""
        raise RuntimeError(f"PostgreSQL did not start: {started.stderr.strip()}\n{log[-2000:]}")


def _stop(cluster: Cluster) -> None:
    if (cluster.data / "postmaster.pid").exists():
        _as_account(
            _bin("pg_ctl"), "stop", "--wait", "--mode=immediate", "--pgdata", str(cluster.data)
        )


@contextlib.contextmanager
def running() -> Iterator[Cluster]:
    """A started cluster, stopped and deleted when the block ends."""
    directory = Path(tempfile.mkdtemp(prefix="bma-postgres-"))
    cluster = Cluster(directory=directory, superuser_password=secrets.token_urlsafe(24))
    try:
        cluster.socket_directory.mkdir()
        for path in (directory, cluster.socket_directory):
            shutil.chown(path, ACCOUNT)
        _initdb(cluster)
        _start(cluster)
        yield cluster
    finally:
        _stop(cluster)
        shutil.rmtree(directory, ignore_errors=True)
