#!/usr/bin/python3 -IB
"""mkfs-btrfs.py USER: format USER's volume with btrfs.

Refused when the volume already holds a filesystem (or any other signature):
data is never formatted over."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import cli
from wrapperlib.storage import actions

if __name__ == "__main__":
    cli.run(actions.format_command("btrfs"))
