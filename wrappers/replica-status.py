#!/usr/bin/python3 -IB
"""replica-status.py: the second server's last report, as the replica sent
it at the end of its pull run (over its restricted key, the ``report``
request of tools/snapshot-send.py) and root stored it after checking it:
``{"report": {...} | null, "key": {...}}`` (null: no replica has
reported; ``key``: whether root's authorized_keys holds the replica's key
to ``restrict`` and its forced command, wrapperlib/replica_key.py, for
check_prerequisities). Read-only; the portal stores the report in its
database on its periodic collection."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import cli, replica_key, replica_report, validate


def main(args: list[str]) -> dict:
    validate.arguments(args)
    return {"report": replica_report.load(), "key": replica_key.check()}


if __name__ == "__main__":
    cli.run(main)
