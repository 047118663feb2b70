"""Snapshot paths as people read them. A path travels as refs (base64url
of each raw name, restore.PATH) so that any name can be addressed; shown,
it is decoded here: bytes that are not UTF-8 as \\xNN (surrogateescape, as
the wrappers do), hidden characters escaped, each name and the whole
bounded. The result is text, still escaped by templates."""

import base64
import binascii
from dataclasses import dataclass

from backup.privileged.safe_text import safe_text

MAX_NAME_CHARS = 255
MAX_PATH_CHARS = 1024
ELLIPSIS = "…"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def name_of(ref: str) -> str:
    """One ref's name, readable; "?" for a ref that is not base64url."""
    try:
        raw = base64.urlsafe_b64decode(ref + "=" * (-len(ref) % 4))
    except (binascii.Error, ValueError):
        return "?"
    text = raw.decode("utf-8", "surrogateescape")
    escaped = "".join(
        f"\\x{ord(char) - 0xDC00:02x}" if 0xDC80 <= ord(char) <= 0xDCFF else char for char in text
    )
    return _clip(safe_text(escaped), MAX_NAME_CHARS)


def readable(path: str) -> str:
    """A path (refs joined by "/", or ".") as "/Folder/file.txt" ("/": the root)."""
    if not path or path == ".":
        return "/"
    return _clip("/" + "/".join(name_of(ref) for ref in path.split("/")), MAX_PATH_CHARS)


@dataclass(frozen=True)
class Crumb:
    name: str
    path: str  # the refs up to and including this part


def crumbs(path: str) -> list[Crumb]:
    """Each part of ``path`` with the path that opens it, root excluded."""
    if not path or path == ".":
        return []
    refs = path.split("/")
    return [Crumb(name_of(ref), "/".join(refs[: index + 1])) for index, ref in enumerate(refs)]
