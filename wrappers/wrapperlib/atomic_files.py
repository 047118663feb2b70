"""Replacing a small file root writes, safely: relative to its directory's
descriptor (so no link in the path is followed), through a temporary made
with O_EXCL and O_NOFOLLOW (so a link planted at the temporary's name is
refused, never written through), given its mode through its own descriptor,
synced, then renamed over the old file. A reader sees the old file or the
new one, never half of either, whenever the wrapper stops."""

import contextlib
import os

from . import crashsafe


def replace(directory: int, name: str, text: str, mode: int) -> None:
    """Make ``name`` in the directory open as ``directory`` hold ``text``.
    Each change is a step of the fault-injection test (crashsafe.step)."""
    temporary = f".{name}.new"
    crashsafe.step()
    # A temporary left by a stopped run: root's own, in root's directory.
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temporary, dir_fd=directory)
    fd = os.open(
        temporary,
        os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
        mode,
        dir_fd=directory,
    )
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
        os.fchmod(out.fileno(), mode)
        out.flush()
        os.fsync(out.fileno())
    os.rename(temporary, name, src_dir_fd=directory, dst_dir_fd=directory)
    os.fsync(directory)
