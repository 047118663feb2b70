"""Comparing a sample of the replica's files with the primary's, by
checksum: the replica's verify reads a sample of files of a volume's newest
copy and asks the primary (``checksum USER SNAPSHOT``, the paths on stdin)
for the sha256 of the same files in the same read-only snapshot.

Paths travel as the project's refs (snapshot_files: each raw name in
base64url, joined by "/"), one per line, at most MAX_PATHS: the replica's
request is hostile to the primary like any caller's. The primary opens each
file one component at a time with O_NOFOLLOW, as the volume's account (a
link or a name in the snapshot can't reach anything its owner could not),
within a time budget, and hashes regular files only.
"""

import hashlib
import os
import stat

from . import as_user, snapshot_files
from .config import settings
from .errors import Refusal

MAX_PATHS = 20
MAX_REQUEST_BYTES = 64 << 10
CHUNK = 1 << 20


def ref_path(relative: str) -> str:
    """A path relative to a snapshot's root as the request carries it."""
    return "/".join(snapshot_files.ref(os.fsencode(part)) for part in relative.split(os.sep))


def parse_paths(data: bytes) -> list[str]:
    """The requested paths: 1 to MAX_PATHS refs-paths, each naming an entry
    (never the snapshot's root), one per line; anything else refused."""
    if len(data) > MAX_REQUEST_BYTES:
        raise Refusal(f"the checksum request is over {MAX_REQUEST_BYTES} bytes")
    try:
        lines = data.decode("ascii").split("\n")
    except UnicodeDecodeError:
        raise Refusal("the checksum request is not ASCII") from None
    if lines and lines[-1] == "":
        lines.pop()
    if not 1 <= len(lines) <= MAX_PATHS:
        raise Refusal(f"the checksum request must name 1 to {MAX_PATHS} files")
    for line in lines:
        if line == "." or not snapshot_files.parse_path(line):
            raise Refusal("the checksum request names the snapshot itself, not a file")
    return lines


def digest(root: str, names: list[bytes]) -> dict:
    """{"sha256"} of the regular file root/names…, or {"error"}."""
    try:
        directory = snapshot_files._open_dirs(root, names[:-1])
    except Refusal as refusal:
        return {"error": str(refusal)}
    except OSError as error:
        return {"error": error.strerror or "could not be opened"}
    try:
        fd = os.open(names[-1], snapshot_files.FILE_FLAGS, dir_fd=directory)
    except OSError as error:
        return {"error": error.strerror or "could not be opened"}
    finally:
        os.close(directory)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return {"error": "not a regular file"}
    with os.fdopen(fd, "rb") as opened:
        hashed = hashlib.sha256()
        try:
            while chunk := opened.read(CHUNK):
                hashed.update(chunk)
        except OSError as error:
            return {"error": error.strerror or "could not be read"}
    return {"sha256": hashed.hexdigest()}


def checksums(account, root: str, paths: list[str]) -> dict:
    """{path: {"sha256"} or {"error"}} of the paths in the snapshot at root,
    read as account (a pwd entry) within SNAPSHOT_RESTORE_MAX_SECONDS."""
    return as_user.run(
        account,
        lambda: {path: digest(root, snapshot_files.parse_path(path)) for path in paths},
        settings().SNAPSHOT_RESTORE_MAX_SECONDS,
    )
