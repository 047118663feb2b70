"""A check-in's request body is hostile input: any bytes, any size. It is
read up to a bound (never the whole of a huge body), decoded leniently and
cleaned once here; the pages escape it again like any text."""

import re

from django.conf import settings
from django.http import HttpRequest

# Control characters but tab and newline (a carriage return ends lines too).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def read(request: HttpRequest) -> tuple[str, bool]:
    """(cleaned text, truncated) of at most CHECKIN_LOG_MAX_BYTES of the body.

    Read from the stream, so that a body of gigabytes costs a bounded read
    (Django would otherwise refuse it past DATA_UPLOAD_MAX_MEMORY_SIZE, and
    a log that long is still worth keeping the start of)."""
    limit = settings.CHECKIN_LOG_MAX_BYTES
    raw = request.read(limit + 1)
    truncated = len(raw) > limit
    return clean(raw[:limit]), truncated


def clean(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    # NUL can't be stored in PostgreSQL text; the rest would garble a page or a log.
    return _CONTROL.sub("\N{REPLACEMENT CHARACTER}", text)
