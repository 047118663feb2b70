"""The second server, from the primary's side: the replica's key in root's
authorized_keys is held to ``restrict`` and the forced command, and the
replica has reported within twice its pull interval (README "Second
server"). Nothing to check when no replica is configured."""

import datetime
import json
import os
import subprocess

from django.conf import settings

from .base import _run_wrapper, fail, last_line, ok, warn


def replica_key_and_reports(context):
    name = "replica"
    if not settings.REPLICA_ENABLED:
        return ok(name, "no second server configured (REPLICA_ENABLED is off)")
    completed = _run_wrapper(context, "replica-status.py")
    if completed.returncode != 0:
        return fail(name, f"replica-status.py: {last_line(completed.stderr)}")
    answer = json.loads(completed.stdout)
    key, report = answer["key"], answer["report"]
    if key["problems"]:
        return fail(
            name,
            f"{key['path']}: {'; '.join(key['problems'])}: the replica's line must be "
            'restrict,command="<wrappers>/tools/snapshot-send.py" (bin/install-replica prints it)',
        )
    if report is None:
        return warn(name, "the replica's key is restricted, but the replica has not reported yet")
    received = datetime.datetime.strptime(report["received_at"], "%Y-%m-%dT%H:%M:%SZ")
    age = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - received
    limit = datetime.timedelta(minutes=2 * settings.REPLICA_INTERVAL_MINUTES)
    if age > limit or not report["reachable"]:
        return warn(
            name,
            f"the replica last reported at {report['received_at']} "
            f"({'could not reach this server' if not report['reachable'] else 'too long ago'})",
        )
    return ok(
        name,
        f"the replica's key is restricted to snapshot-send.py; last report {report['received_at']}",
    )


SSH = "/usr/bin/ssh"
# What ssh prints when the server turned every offered key down: the only
# answer that proves a refusal (a timeout or a reset proves nothing).
REFUSED = "Permission denied"


def _try_login(login: str, identity: str | None) -> subprocess.CompletedProcess:
    """One non-interactive login attempt. The host key is not verified on
    purpose: an unknown host key would stop ssh before any key is offered,
    and the question is only whether a key gets in."""
    argv = [SSH, "-o", "BatchMode=yes", "-o", "ConnectTimeout=5"]
    argv += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    argv += ["-o", "LogLevel=ERROR", "-p", str(settings.REPLICA_SSH_PORT)]
    if identity is not None:
        argv += ["-o", "IdentitiesOnly=yes", "-i", identity]
    argv += [f"{login}@{settings.REPLICA_HOST}", "true"]
    return subprocess.run(
        argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30
    )


def primary_cannot_log_in_to_replica(context):
    """Root on the primary may be taken over; the replica's copies survive
    only if nothing here can log in there. Every key this server holds (the
    configured ones that exist, and the checking account's own) is offered as
    root and as the service account; each must be refused."""
    name = "replica login"
    if not settings.REPLICA_HOST:
        return ok(name, "no replica_host configured: nothing to try")
    identities = [path for path in settings.REPLICA_PRIMARY_IDENTITIES if os.path.exists(path)]
    for login in ("root", settings.SERVICE_USER):
        for identity in [None, *identities]:
            offered = identity or "this account's own keys"
            completed = _try_login(login, identity)
            if completed.returncode == 0:
                return fail(
                    name,
                    f"{login}@{settings.REPLICA_HOST} accepted {offered}: remove that key "
                    "from the replica's authorized_keys (the primary must hold no way in)",
                )
            if REFUSED not in completed.stderr:
                return fail(
                    name,
                    f"could not prove {login}@{settings.REPLICA_HOST} refuses {offered}: "
                    f"{last_line(completed.stderr) or 'no answer'}",
                )
    return ok(
        name,
        f"{settings.REPLICA_HOST} refused every key of this server as root and "
        f"{settings.SERVICE_USER}",
    )
