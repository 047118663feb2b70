#!/usr/bin/python3 -IB
"""replica-status.py: the second server's last report, as the replica sent
it at the end of its pull run (over its restricted key, the ``report``
request of tools/snapshot-send.py) and root stored it after checking it:
``{"report": {...} | null}`` (null: no replica has reported). Read-only;
the portal stores it in its database on its periodic collection."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import cli, replica_report, validate


def main(args: list[str]) -> dict:
    validate.arguments(args)
    return {"report": replica_report.load()}


if __name__ == "__main__":
    cli.run(main)
