#!/usr/bin/python3 -IB
"""replica-verify.py: on the replica server, as root (a daily timer or
cron): check that every copy is still read-only with the received UUID the
primary lists for it, and read back a sample of each volume's newest copy
in full. Prints the report; exits 1 (one line, so cron mails it) when a
copy does not match or a file can't be read."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.realpath(__file__))))

from wrapperlib import cli, replica_verify, validate
from wrapperlib.errors import Failure


def main(args):
    validate.arguments(args)
    report = replica_verify.run()
    bad = sorted(
        user
        for user, found in report["volumes"].items()
        if found["mismatched"] or found["unreadable"] or found["differing"]
    )
    if bad:
        raise Failure(f"{len(bad)} volume(s) failed verification: {', '.join(bad[:10])}")
    return report


if __name__ == "__main__":
    cli.run(main)
