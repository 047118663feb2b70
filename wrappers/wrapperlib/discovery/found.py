"""What a scan reports, and how untrusted names and times become JSON."""

import datetime
import time
import unicodedata

from .walk import Malformed

COMPLETE, IN_PROGRESS, FAILED = "complete", "in_progress", "failed"
# The date is the last change to a repository that maintenance changes too,
# not evidence of a backup.
REPOSITORY_CHANGE = "repository_change"
# The date is when the backup's files were last written; whether that run
# completed can't be read from the volume (an image file, a disk image's
# bands): never reported as a completed backup.
LAST_WRITTEN = "last_written"
# A copy or mirror (no versions kept): the date is when the copy last wrote
# a file, as the server recorded it (st_ctime, which no client can set),
# not the source files' own modification times that the copy preserved.
COPY = "copy"
UTC = datetime.UTC
# Clocks of clients and servers differ a little; a time further ahead than
# this is no backup's time (a history dated 2099) and is refused.
MAX_FUTURE_SECONDS = 24 * 3600

# Categories shown escaped: control, format (bidi overrides can disguise a
# name), surrogate, line and paragraph separators.
_HIDDEN_CATEGORIES = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))


# Plain classes with __slots__, not dataclasses: importing dataclasses (with
# inspect, ast and dis) was a sixth of the CPU of the dashboard's one-volume
# scan, and these two need nothing it generates beyond __init__.
class Source:
    __slots__ = (
        "backups",
        "evidence",
        "format",
        "in_progress_since",
        "last_backup",
        "machine",
        "owns",
        "path",
        "size_bytes",
        "size_estimated",
        "state",
    )

    def __init__(
        self,
        format: str,
        path: tuple,
        machine: str | None = None,
        last_backup: float | None = None,  # seconds since the epoch
        backups: int | None = None,
        state: str = COMPLETE,
        size_bytes: int | None = None,
        # How last_backup was found when not from the format's own record of
        # completed backups (wrappers/README.md lists the values).
        evidence: str | None = None,
        # The prefix (or tuple of prefixes) of the files this source owns in
        # a folder it shares with other things (file-based formats); never
        # reported.
        owns: str | tuple | None = None,
        # size_bytes is a lower bound: the size budget ran out while counting.
        size_estimated: bool = False,
        # When the backup in progress started, from its own evidence (a lock
        # file, a temporary bundle, a partial set); None when unknown.
        in_progress_since: float | None = None,
    ) -> None:
        self.format = format
        self.path = path
        self.machine = machine
        self.last_backup = last_backup
        self.backups = backups
        self.state = state
        self.size_bytes = size_bytes
        self.evidence = evidence
        self.owns = owns
        self.size_estimated = size_estimated
        self.in_progress_since = in_progress_since

    def as_json(self):
        running = self.state == IN_PROGRESS
        return {
            "machine": None if self.machine is None else display(self.machine),
            "format": self.format,
            "path": display_path(self.path),
            "last_backup": iso(plausible(self.last_backup)),
            "backups": self.backups,
            "state": self.state,
            "size_bytes": self.size_bytes,
            "size_estimated": self.size_estimated,
            "evidence": self.evidence,
            "in_progress_since": iso(plausible(self.in_progress_since)) if running else None,
        }


class Unrecognised:
    __slots__ = ("modified", "path")

    def __init__(self, path: tuple, modified: float | None) -> None:
        self.path = path
        self.modified = modified

    def as_json(self):
        return {"path": display_path(self.path), "modified": iso(plausible(self.modified))}


def unrecognised_child(parent, name):
    """A malformed item inside a container the scan otherwise understood."""
    return Unrecognised((*parent.path, name), parent.mtime_of(name))


# Longest name or path a report carries, in characters after escaping: a
# user's names can be long (and grow fourfold when escaped), the report can't.
MAX_NAME_CHARS = 300
ELLIPSIS = "\u2026"


def _escaped(text):
    """The characters of a name from the volume, one printable piece each."""
    for char in text:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:
            yield f"\\x{code - 0xDC00:02x}"
        elif unicodedata.category(char) in _HIDDEN_CATEGORIES:
            yield f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
        else:
            yield char


def _clipped(pieces, limit):
    # Cut between pieces, so that an escape is never cut in half.
    out, length = [], 0
    for piece in pieces:
        out.append(piece)
        length += len(piece)
        if length > limit:
            while length > limit - len(ELLIPSIS):
                length -= len(out.pop())
            out.append(ELLIPSIS)
            break
    return "".join(out)


def display(text, limit=MAX_NAME_CHARS):
    """A name from the volume as printable, valid Unicode of at most `limit`
    characters (a longer one ends with "…").

    Bytes that are not UTF-8 (which the OS layer hands over as the surrogate
    escapes U+DC80..U+DCFF) become "\\xNN", and control or formatting
    characters such as a newline become "\\xNN" or "\\uNNNN": the result
    always survives JSON, a web page and a log line, and no invisible or
    reordering character can disguise it.
    """
    return _clipped(_escaped(text), limit)


def display_path(path, limit=MAX_NAME_CHARS):
    if not path:
        return "."

    def pieces():
        for index, name in enumerate(path):
            if index:
                yield "/"
            yield from _escaped(name)

    return _clipped(pieces(), limit)


def iso(timestamp):
    """Seconds since the epoch as "YYYY-MM-DDTHH:MM:SSZ"; None if absent or absurd."""
    if timestamp is None:
        return None
    try:
        moment = datetime.datetime.fromtimestamp(timestamp, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_compact_utc(text):
    """ "20240131T235959Z" (duplicity, Duplicati) as seconds, or None if invalid."""
    try:
        moment = datetime.datetime.strptime(text, "%Y%m%dT%H%M%SZ")
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC).timestamp()


def naive_utc(moment):
    """A naive datetime known to be UTC (as plistlib returns dates) as seconds."""
    return moment.replace(tzinfo=UTC).timestamp()


def plausible(timestamp):
    """timestamp, or None when it is absent or in the future (beyond clock skew)."""
    if timestamp is None or timestamp > time.time() + MAX_FUTURE_SECONDS:
        return None
    return timestamp


def newest(*times):
    """The latest of the times that are plausible (None and future ones are ignored)."""
    present = [value for value in map(plausible, times) if value is not None]
    return max(present) if present else None


def oldest(*times):
    present = [value for value in map(plausible, times) if value is not None]
    return min(present) if present else None


def load_plist(directory, name, limit):
    """The plist `name` in directory as a dict; Malformed when it isn't one."""
    import plistlib  # with its XML parser: only volumes holding plists pay for it

    data = directory.read(name, limit)
    try:
        value = plistlib.loads(data)
    except Exception as error:  # noqa: BLE001 (untrusted input: any parser error means malformed)
        raise Malformed(f"{name}: {type(error).__name__}") from None
    if not isinstance(value, dict):
        raise Malformed(f"{name} is not a dictionary")
    return value
