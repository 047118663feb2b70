#!/usr/bin/python3 -IB
"""smbpasswd.py USER: add or update, and enable, USER's entry in the Samba
passdb of SAMBA_CONFIG; the password is read from stdin."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import accounts, cli, locks, validate


def main(args):
    (user,) = validate.arguments(args, "USER")
    account = validate.managed_account(user)
    password = accounts.check_password(validate.password_from_stdin())
    with locks.volume_lock(account.pw_name):
        accounts.set_samba_password(account, password)
    return {"user": account.pw_name}


if __name__ == "__main__":
    cli.run(main)
