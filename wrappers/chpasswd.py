#!/usr/bin/python3 -IB
"""chpasswd.py USER: set backup account USER's Unix password, read from stdin."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import accounts, cli

if __name__ == "__main__":
    cli.run(accounts.password_command(accounts.set_unix_password))
