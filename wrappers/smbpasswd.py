#!/usr/bin/python3 -IB
"""smbpasswd.py USER: add or update, and enable, USER's entry in the Samba
passdb of SAMBA_CONFIG; the password is read from stdin."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import accounts, cli

if __name__ == "__main__":
    cli.run(accounts.password_command(accounts.set_samba_password))
