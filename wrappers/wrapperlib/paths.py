"""Paths built only from validated names under the configured roots, and
checked again after resolution.

The configured roots are resolved strings; the paths built under them are
pathlib Paths. pathlib is imported only for those: listing every volume (the
query wrappers the portal calls most) needs the roots alone, and importing
pathlib cost a tenth of such a call's CPU time.
"""

import os
import stat

from .config import settings
from .errors import Refusal


def _configured_directory(configured, description):
    """The configured directory, resolved (a string)."""
    resolved = os.path.realpath(configured)
    if not os.path.isdir(resolved):
        raise Refusal(f"the {description} {configured} does not exist")
    return resolved


def _under(root, name):
    """root/name as a Path; the caller checks it stayed one level under root."""
    from pathlib import Path

    root = Path(root)
    return root, root / name


def directories_root():
    return _configured_directory(settings().DIRECTORIES_ROOT, "volumes directory")


def mount_point(user):
    """<DIRECTORIES_ROOT>/<user>; user must already be validated.

    The mount point itself must not be a symlink: a symlink planted there
    would redirect mount, chown or rmdir elsewhere.
    """
    root, path = _under(directories_root(), user)
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
    pool, path = _under(loopfile_pool(), f"{user}.img")
    if path.parent != pool or path.name != f"{user}.img":
        raise Refusal(f"invalid image path for {user}")
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return path
    if not stat.S_ISREG(info.st_mode):
        raise Refusal(f"{path} exists and is not a regular file")
    return path


def snapshots_root():
    """SNAPSHOTS_ROOT, resolved, made when missing (its parent must exist);
    it must be root's alone, as every snapshot mount under it is root's."""
    configured = settings().SNAPSHOTS_ROOT
    if not os.path.lexists(configured) and os.path.isdir(os.path.dirname(configured)):
        os.mkdir(configured, 0o755)
        os.chmod(configured, 0o755)
    root = _configured_directory(configured, "snapshots directory")
    info = os.stat(root)
    if info.st_uid != 0 or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise Refusal(
            f"the snapshots directory {root} must be owned by root and writable by root only"
        )
    return root


def top_level_point(user):
    """<SNAPSHOTS_ROOT>/<user>, where root mounts the top level of user's
    btrfs volume; user must already be validated. Not a symlink."""
    root, path = _under(snapshots_root(), user)
    if path.parent != root or path.name != user:
        raise Refusal(f"invalid snapshots mount point for {user}")
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return path
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0:
        raise Refusal(f"{path} exists and is not a directory of root's")
    return path
