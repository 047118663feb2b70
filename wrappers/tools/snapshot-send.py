#!/usr/bin/python3 -IB
"""snapshot-send.py: the primary's send side of the replica, run only as
the forced command of the replica's key in root's authorized_keys:

    restrict,command="/opt/backupmanagement/wrappers/tools/snapshot-send.py" ssh-ed25519 AAAA…

The request comes from sshd in SSH_ORIGINAL_COMMAND (``list``, or ``send
USER SNAPSHOT [PARENT]``; wrapperlib/replica_send.py) and is validated like
any wrapper's argv. Not a wrapper: never in sudoers, so the portal's
service account can't stream a volume out; root may run it by hand with the
request as arguments."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.realpath(__file__))))

from wrapperlib import cli, replica_send


def main(args):
    return replica_send.serve(" ".join(args) if args else None)


if __name__ == "__main__":
    # cli.run clears the environment before main: the request is taken out
    # first and becomes the arguments (so it is also what syslog records).
    request = os.environ.get("SSH_ORIGINAL_COMMAND")
    if len(sys.argv) == 1 and request is not None:
        sys.argv[1:] = request.split(" ")
    cli.run(main)
