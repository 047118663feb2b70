"""Paths built only from validated names under the configured roots, and
checked again after resolution."""

import os
import stat
from pathlib import Path

from .config import settings
from .errors import Refusal


def directories_root():
    root = settings().DIRECTORIES_ROOT
    resolved = os.path.realpath(root)
    if not os.path.isdir(resolved):
        raise Refusal(f"the volumes directory {root} does not exist")
    return Path(resolved)


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


def inside(base, candidate):
    """True when candidate, fully resolved, is base or below it."""
    base = os.path.realpath(base)
    candidate = os.path.realpath(candidate)
    return candidate == base or candidate.startswith(base + os.sep)
