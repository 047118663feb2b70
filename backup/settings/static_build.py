"""Collecting the static files as root at install time (bin/installer.py).

Only what collectstatic needs, on top of the safe defaults: no database, no
log file, no config file, so root reads and opens nothing the service user
could have changed. STATIC_ROOT is the root-owned directory Apache serves.
"""

import os
from pathlib import Path

from .base import *  # noqa: F403

STATIC_ROOT = Path(os.environ["BACKUP_STATIC_ROOT"])
DATABASES: dict = {}
