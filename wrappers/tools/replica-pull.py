#!/usr/bin/python3 -IB
"""replica-pull.py: on the replica server, as root (a timer or cron, never
sudoers): list the primary's read-only snapshots over SSH, pull every
volume's new ones incrementally into REPLICA_ROOT, apply the replica's own
retention, and write <REPLICA_ROOT>/.status.json (also printed). Exits 1
(after writing the status) when the primary was unreachable or a volume
failed, so cron mails it."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.realpath(__file__))))

from wrapperlib import cli, replica_pull, validate
from wrapperlib.errors import Failure


def main(args):
    validate.arguments(args)
    status = replica_pull.run()
    failed = sorted(user for user, volume in status["volumes"].items() if volume["error"])
    if not status["reachable"]:
        raise Failure(f"the primary was not reachable: {status['error']}")
    if failed:
        shown = ", ".join(failed[:10])
        raise Failure(f"{len(failed)} volume(s) failed: {shown} (see .status.json)")
    if status["report_error"]:
        raise Failure(f"the primary did not take the report: {status['report_error']}")
    return status


if __name__ == "__main__":
    cli.run(main)
