#!/usr/bin/python3 -IB
"""deluser.py USER: remove backup account USER and its Samba passdb entry;
refused while USER still has a volume or a running process."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import accounts, cli, locks, validate
from wrapperlib.errors import Refusal


def _check_removable(account):
    name = account.pw_name
    if accounts.has_volume(name):
        raise Refusal(f"{name} still has a volume: remove it first")
    if accounts.processes_of(account):
        raise Refusal(f"{name} is still in use (a backup connection?); try again when it ends")


def main(args):
    (user,) = validate.arguments(args, "USER")
    account = validate.managed_account(user)
    _check_removable(account)
    with locks.volume_lock(account.pw_name):
        _check_removable(account)  # again: a volume may have been made meanwhile
        accounts.delete(account)
    return {"user": account.pw_name}


if __name__ == "__main__":
    cli.run(main)
