#!/usr/bin/python3 -IB
"""wrapper-settings.py: the settings in force that the portal must agree
with (check_prerequisities compares them with its own): where the volumes
are mounted, which Samba configuration's passdb the passwords go to, the
storage backend and the managed group. Nothing secret; the wrappers'
directory itself stays unreadable to the service user."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import cli, validate
from wrapperlib.config import settings

SHOWN = (
    "BACKEND",
    "DIRECTORIES_ROOT",
    "SNAPSHOTS_ROOT",
    "SAMBA_CONFIG",
    "MANAGED_GROUP",
    "VOLUME_GROUP",
)


def main(args: list[str]) -> dict:
    validate.arguments(args)
    config = settings()
    return {name.lower(): str(getattr(config, name)) for name in SHOWN}


if __name__ == "__main__":
    cli.run(main)
