"""The second server, from the primary's side: the replica's key in root's
authorized_keys is held to ``restrict`` and the forced command, and the
replica has reported within twice its pull interval (README "Second
server"). Nothing to check when no replica is configured."""

import datetime
import json

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
