"""Paths built only from validated names under the configured roots, and
checked again after resolution."""

import os
import stat
from pathlib import Path

from .config import settings
from .errors import Refusal


def _configured_directory(configured, description):
    resolved = os.path.realpath(configured)
    if not os.path.isdir(resolved):
        raise Refusal(f"the {description} {configured} does not exist")
    return Path(resolved)


def directories_root():
    return _configured_directory(settings().DIRECTORIES_ROOT, "volumes directory")


def mount_point(user):
    """<DIRECTORIES_ROOT>/<user>; user must already be validated.

    The mount point itself must not be a symlink: a symlink planted there
    would redirect mount, chown or rmdir elsewhere.
    """
    root = directories_root()
    path = root / user
    if path.parent != root or path.name != user:
        raise Refusal(f"invalid mount point for {user}")
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return path
    if not stat.S_ISDIR(info.st_mode):
        raise Refusal(f"{path} exists and is not a directory")
    return path


def loopfile_pool():
    """The loopfile backend's pool directory (LOOPFILE_POOL), resolved."""
    return _configured_directory(settings().LOOPFILE_POOL, "volume pool directory")


def loopfile_image(user):
    """<LOOPFILE_POOL>/<user>.img; user must already be validated.

    Returned whether or not it exists; when it does, it must be a regular
    file (a symlink there would send ftruncate or unlink elsewhere).
    """
    pool = loopfile_pool()
    path = pool / f"{user}.img"
    if path.parent != pool or path.name != f"{user}.img":
        raise Refusal(f"invalid image path for {user}")
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return path
    if not stat.S_ISREG(info.st_mode):
        raise Refusal(f"{path} exists and is not a regular file")
    return path
