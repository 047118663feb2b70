"""A portal with more than one storage server shares PostgreSQL with the
nodes' workers (issue 22): the production settings reach a real server, the
whole schema migrates on it, and the database itself holds each node's role
to its own queue, so a compromised node can't see, claim, finish or move
another node's operations.

One private cluster per module (tests/support/postgres.py); the portal's
commands run as separate processes with production settings, as on a host.
"""

import json
import os
import secrets
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from support import postgres
from support.accounts import unique_name

REPO = Path(__file__).resolve().parent.parent
TASKS = "django_tasks_database_dbtaskresult"


@pytest.fixture(scope="module")
def cluster():
    with postgres.running() as running:
        yield running


@pytest.fixture(scope="module")
def portal(cluster, tmp_path_factory):
    """A production configuration whose database is the cluster, owned by
    the portal's own role, migrated."""
    directory = tmp_path_factory.mktemp("portal")
    role, database = unique_name("bma_portal").lower(), unique_name("bma_db").lower()
    password = cluster.create_role(role)
    cluster.create_database(database, role)
    password_file = directory / "postgresql-password"
    password_file.write_text(password + "\n")
    config = directory / "backup.toml"
    config.write_text(
        f'secret_key = "{secrets.token_urlsafe(50)}"\n'
        'allowed_hosts = ["backup.example.com"]\n'
        f'database = "{directory / "db.sqlite3"}"\n'
        f'static_root = "{directory / "static"}"\n'
        f'postgresql_host = "{cluster.socket_directory}"\n'
        f"postgresql_port = {postgres.PORT}\n"
        f'postgresql_database = "{database}"\n'
        f'postgresql_user = "{role}"\n'
        f'postgresql_password_file = "{password_file}"\n'
    )
    env = {"BACKUP_CONFIG": str(config), "DJANGO_SETTINGS_MODULE": "backup.settings.production"}
    migrated = manage("migrate", "--noinput", env=env)
    assert migrated.returncode == 0, migrated.stderr
    return {"env": env, "role": role, "database": database, "password": password}


def manage(*args, env, stdin=None):
    return subprocess.run(
        [sys.executable, str(REPO / "manage.py"), *args],
        capture_output=True,
        text=True,
        input=stdin,
        env={**os.environ, **env},
        cwd=REPO,
        check=False,
    )


def test_the_whole_schema_migrates_on_postgresql(cluster, portal):
    unapplied = manage("migrate", "--check", env=portal["env"])
    assert unapplied.returncode == 0, unapplied.stdout + unapplied.stderr
    tables = {
        name
        for (name,) in cluster.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'", dbname=portal["database"]
        )
    }
    assert {"volumes_volume", "operations_operation", "nodes_node", TASKS} <= tables
    [(secured,)] = cluster.execute(
        "SELECT relrowsecurity FROM pg_class WHERE relname = %s", TASKS, dbname=portal["database"]
    )
    assert secured is True


def test_a_missing_password_file_is_refused_at_start(portal, tmp_path):
    config = Path(portal["env"]["BACKUP_CONFIG"]).read_text()
    broken = tmp_path / "backup.toml"
    broken.write_text(config.replace("postgresql-password", "no-such-password-file"))
    result = manage("check", env={**portal["env"], "BACKUP_CONFIG": str(broken)})
    assert result.returncode != 0
    assert "cannot read the PostgreSQL password file" in result.stderr


def node_config(portal, tmp_path, name, password, **keys):
    """The configuration of node ``name``'s host: the portal's database as
    the node's own role."""
    directory = tmp_path / name
    directory.mkdir()
    password_file = directory / "postgresql-password"
    password_file.write_text(password + "\n")
    text = Path(portal["env"]["BACKUP_CONFIG"]).read_text()
    text = text.replace(f'postgresql_user = "{portal["role"]}"', f'postgresql_user = "node_{name}"')
    text = text.replace(str(Path(portal["env"]["BACKUP_CONFIG"]).parent / "postgresql-password"),
                        str(password_file))  # fmt: skip
    text += f'node_name = "{name}"\n'
    text += "".join(f'{key} = "{value}"\n' for key, value in keys.items())
    config = directory / "backup.toml"
    config.write_text(text)
    return {**portal["env"], "BACKUP_CONFIG": str(config)}


def add_node(cluster, portal, name):
    """Registers node ``name`` and runs what node_grants prints, as the
    database administrator would; the node role's password."""
    added = manage("add_node", name, "--samba-address", f"{name}.example.com", env=portal["env"])
    assert added.returncode == 0, added.stderr
    printed = manage("node_grants", name, env=portal["env"])
    assert printed.returncode == 0, printed.stderr
    role = f"node_{name}"
    with cluster.connect(dbname=portal["database"]) as admin:
        for line in printed.stdout.splitlines():
            if line.startswith("\\password"):
                # psql's \password, done the way psql does it: ALTER ROLE.
                password = secrets.token_urlsafe(24)
                admin.execute(
                    psycopg.sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                        psycopg.sql.Identifier(role), psycopg.sql.Literal(password)
                    )
                )
            else:
                admin.execute(line)
    return role, password


def enqueue(cluster, portal, queue):
    """A ready task on ``queue``, written as the portal's role (the table's
    owner) writes it; its id."""
    task = uuid.uuid4()
    with cluster.connect(portal["role"], portal["password"], portal["database"]) as connection:
        connection.execute(
            "INSERT INTO django_tasks_database_dbtaskresult (id, status, enqueued_at,"
            " args_kwargs, priority, task_path, worker_ids, queue_name, backend_name,"
            " run_after, exception_class_path, traceback)"
            " VALUES (%s, 'READY', now(), %s, 0,"
            " 'backup.operations.tasks.run_operation', '[]', %s, 'default', now(), '', '')",
            (task, json.dumps({"args": [1], "kwargs": {}}), queue),
        )
    return task


@pytest.fixture(scope="module")
def two_nodes(cluster, portal):
    a, b = unique_name("a").lower(), unique_name("b").lower()
    role_a, password_a = add_node(cluster, portal, a)
    role_b, _ = add_node(cluster, portal, b)
    return {
        "role": role_a,
        "password": password_a,
        "own": role_a,
        "other": role_b,
        "names": (a, b),
    }


def test_a_node_sees_and_claims_only_its_own_queue(cluster, portal, two_nodes):
    own = enqueue(cluster, portal, two_nodes["own"])
    other = enqueue(cluster, portal, two_nodes["other"])
    with cluster.connect(two_nodes["role"], two_nodes["password"], portal["database"]) as node:
        visible = {
            row[0] for row in node.execute("SELECT id FROM django_tasks_database_dbtaskresult")
        }
        assert own in visible
        assert other not in visible
        # The worker's claim (django-tasks: SELECT … FOR UPDATE SKIP LOCKED),
        # even when the node asks for the other queue by name.
        claimed = node.execute(
            "SELECT id FROM django_tasks_database_dbtaskresult"
            " WHERE status = 'READY' AND queue_name = %s FOR UPDATE SKIP LOCKED",
            (two_nodes["other"],),
        ).fetchall()
        assert claimed == []
        finished = node.execute(
            "UPDATE django_tasks_database_dbtaskresult SET status = 'SUCCESSFUL' WHERE id = %s",
            (own,),
        ).rowcount
        touched = node.execute(
            "UPDATE django_tasks_database_dbtaskresult SET status = 'SUCCESSFUL' WHERE id = %s",
            (other,),
        ).rowcount
    assert (finished, touched) == (1, 0)
    [(status,)] = cluster.execute(
        "SELECT status FROM django_tasks_database_dbtaskresult WHERE id = %s",
        other,
        dbname=portal["database"],
    )
    assert status == "READY"


@pytest.mark.parametrize(
    ("statement", "refusal"),
    [
        # Moving its own task to another node's queue.
        ("UPDATE django_tasks_database_dbtaskresult SET queue_name = %(other)s"
         " WHERE queue_name = %(own)s",
         "row-level security"),
        # Queuing work for another node, or for itself.
        ("INSERT INTO django_tasks_database_dbtaskresult (id, status, enqueued_at,"
         " args_kwargs, priority, task_path, worker_ids, queue_name, backend_name,"
         " run_after, exception_class_path, traceback)"
         " VALUES (gen_random_uuid(), 'READY', now(), '{}', 0, 'x', '[]', %(other)s,"
         " 'default', now(), '', '')", "permission denied"),
        ("DELETE FROM django_tasks_database_dbtaskresult", "permission denied"),
        # Everything else in the portal's database.
        ("SELECT account FROM volumes_volume", "permission denied"),
        ("UPDATE operations_operation SET state = 'failed'", "permission denied"),
        ("ALTER TABLE django_tasks_database_dbtaskresult DISABLE ROW LEVEL SECURITY",
         "must be owner"),
    ],
)  # fmt: skip
def test_what_a_node_may_not_do_is_refused_by_the_database(
    cluster, portal, two_nodes, statement, refusal
):
    enqueue(cluster, portal, two_nodes["own"])
    before = cluster.execute(
        "SELECT id, status, queue_name FROM django_tasks_database_dbtaskresult ORDER BY id",
        dbname=portal["database"],
    )
    with (
        cluster.connect(two_nodes["role"], two_nodes["password"], portal["database"]) as node,
        pytest.raises(psycopg.errors.InsufficientPrivilege) as refused,
    ):
        node.execute(statement, {"own": two_nodes["own"], "other": two_nodes["other"]})
    assert refusal in str(refused.value)
    after = cluster.execute(
        "SELECT id, status, queue_name FROM django_tasks_database_dbtaskresult ORDER BY id",
        dbname=portal["database"],
    )
    assert after == before


@pytest.mark.parametrize("name", ["A", "1node", "node-x", "x" * 25, "a;drop", ""])
def test_a_bad_node_name_is_refused_and_nothing_is_added(cluster, portal, name):
    before = cluster.execute("SELECT name FROM nodes_node ORDER BY name", dbname=portal["database"])
    result = manage("add_node", name, "--samba-address", "x.example.com", env=portal["env"])
    assert result.returncode != 0
    assert "name" in result.stderr
    after = cluster.execute("SELECT name FROM nodes_node ORDER BY name", dbname=portal["database"])
    assert after == before


def test_a_node_reports_its_pool_through_its_own_wrappers(
    cluster, portal, two_nodes, wrappers, tmp_path
):
    a, _ = two_nodes["names"]
    env = node_config(portal, tmp_path, a, two_nodes["password"], wrappers_path=wrappers.path)
    reported = manage("node_report", env=env)
    assert reported.returncode == 0, reported.stderr
    pool = json.loads(wrappers.run("vgdisplay.py").stdout)
    [(size, free, count)] = cluster.execute(
        "SELECT pool_size_bytes, pool_free_bytes, volume_count FROM nodes_nodereport r"
        " JOIN nodes_node n ON n.id = r.node_id WHERE n.name = %s",
        a,
        dbname=portal["database"],
    )
    assert (size, count) == (pool["size_bytes"], pool["volume_count"])
    assert 0 < free <= size


@pytest.mark.parametrize(
    "statement",
    [
        # Writing another node's report: the row it would add or change is
        # not its own.
        "INSERT INTO nodes_nodereport (node_id, reported_at, pool_size_bytes, pool_free_bytes,"
        " volume_count) SELECT id, now(), 1, 1, 0 FROM nodes_node WHERE name = %(other)s",
        "UPDATE nodes_nodereport SET node_id = (SELECT id FROM nodes_node WHERE name = %(other)s)",
    ],
)
def test_a_node_cannot_write_another_nodes_report(cluster, portal, two_nodes, statement):
    _, b = two_nodes["names"]
    before = cluster.execute(
        "SELECT * FROM nodes_nodereport ORDER BY node_id", dbname=portal["database"]
    )
    with (
        cluster.connect(two_nodes["role"], two_nodes["password"], portal["database"]) as node,
        pytest.raises(psycopg.errors.InsufficientPrivilege) as refused,
    ):
        node.execute(statement, {"other": b})
    assert "row-level security" in str(refused.value)
    after = cluster.execute(
        "SELECT * FROM nodes_nodereport ORDER BY node_id", dbname=portal["database"]
    )
    assert after == before


def test_a_node_that_is_not_registered_is_told_so(portal, two_nodes, tmp_path):
    env = node_config(portal, tmp_path, "unregistered", two_nodes["password"])
    result = manage("node_report", env=env)
    assert result.returncode != 0
    # Its role does not exist either: the database refuses the sign-in first.
    assert "unregistered" in result.stderr
