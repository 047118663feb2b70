"""What one user's volume leaves on the host, by kind: to show that an
operation made everything it should, or that nothing was left behind."""

import os
import pwd
import subprocess
from pathlib import Path


def passdb_users(install):
    listing = subprocess.run(
        ["pdbedit", "-s", install.settings["SAMBA_CONFIG"], "-L"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return {line.split(":", 1)[0] for line in listing.splitlines() if ":" in line}


def image_of(install, name):
    return Path(install.settings["LOOPFILE_POOL"]) / f"{name}.img"


def mount_point_of(install, name):
    return Path(install.settings["DIRECTORIES_ROOT"]) / name


def traces(install, name):
    """Everything a volume leaves on the host, by kind."""
    try:
        pwd.getpwnam(name)
        account = True
    except KeyError:
        account = False
    return {
        "account": account,
        "image": image_of(install, name).exists(),
        "mount_point": mount_point_of(install, name).exists(),
        "mounted": os.path.ismount(mount_point_of(install, name)),
        "passdb": name in passdb_users(install),
    }


NOTHING = {
    "account": False,
    "image": False,
    "mount_point": False,
    "mounted": False,
    "passdb": False,
}
