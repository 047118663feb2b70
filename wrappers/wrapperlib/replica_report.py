"""What the replica tells the primary at the end of each pull run, and the
primary's one copy of it.

The primary can't ask the replica anything (it holds no credential for
it), so the replica sends its report over the same restricted key, as the
forced command's third request, ``report``, with the JSON on stdin. That
JSON comes from whoever holds the key, so it is parsed as hostile: bounded
in size, every key known, every name full-matched like a wrapper argument,
every number ranged, every sentence bounded and printable. What passes is
stored whole by root in STATE_DIR (``replica-report.json``, 0600, replaced
atomically) with the primary's own clock of its arrival, and
``replica-status.py`` gives it to the portal.

    {"checked_at": "YYYY-MM-DDTHH:MM:SSZ",       the replica's clock
     "reachable": true, "error": null,           the run's listing
     "pool": {"size_bytes": N, "free_bytes": N},
     "verify": null | {"checked_at": "…", "failed": [USER…]},
     "volumes": {USER: {"newest": SNAPSHOT | null, "count": N, "error": null | "…"}}}
"""

import json
import os
import stat

from . import atomic_files, locks, snapshots, validate
from .config import settings
from .errors import Refusal

MAX_REPORT_BYTES = 1 << 20
MAX_VOLUMES = 20_000
MAX_SENTENCE = 300
MAX_COUNT = 1_000_000
MAX_BYTES = 1 << 62
STATE_FILE = "replica-report.json"


def _keys(value, allowed: set[str], where: str) -> dict:
    if not isinstance(value, dict):
        raise Refusal(f"the replica's report: {where} is not an object")
    unknown = set(value) - allowed
    if unknown:
        raise Refusal(f"the replica's report: unknown key {sorted(unknown)[0]!r} in {where}")
    missing = allowed - set(value)
    if missing:
        raise Refusal(f"the replica's report: {where} lacks {sorted(missing)[0]!r}")
    return value


def _time(value, where: str) -> str:
    if not isinstance(value, str) or not snapshots.ISO_PATTERN.fullmatch(value):
        raise Refusal(f"the replica's report: {where} is not YYYY-MM-DDTHH:MM:SSZ")
    return value


def _number(value, maximum: int, where: str) -> int:
    # bool is an int to Python; true is not a count.
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
        raise Refusal(f"the replica's report: {where} is not a whole number from 0 to {maximum}")
    return value


def _sentence(value, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_SENTENCE or not value.isprintable():
        raise Refusal(
            f"the replica's report: {where} is not a printable sentence of at most "
            f"{MAX_SENTENCE} characters"
        )
    return value


def _user(value) -> str:
    try:
        return validate.username(value)
    except Refusal:
        raise Refusal(f"the replica's report names a volume {str(value)[:40]!r}") from None


def _volume(user: str, value) -> dict:
    entry = _keys(value, {"newest", "count", "error"}, f"volume {user}")
    newest = entry["newest"]
    if newest is not None and snapshots.taken_at(newest) is None:
        raise Refusal(f"the replica's report: volume {user}'s newest is not a snapshot name")
    return {
        "newest": newest,
        "count": _number(entry["count"], MAX_COUNT, f"volume {user}'s count"),
        "error": _sentence(entry["error"], f"volume {user}'s error"),
    }


def _verify(value) -> dict | None:
    if value is None:
        return None
    entry = _keys(value, {"checked_at", "failed"}, "verify")
    failed = entry["failed"]
    if not isinstance(failed, list) or len(failed) > MAX_VOLUMES:
        raise Refusal("the replica's report: verify's failed is not a list of volumes")
    return {
        "checked_at": _time(entry["checked_at"], "verify's checked_at"),
        "failed": sorted({_user(user) for user in failed}),
    }


def parse(data: bytes) -> dict:
    """The report in data, checked; anything malformed is refused whole,
    never repaired."""
    if len(data) > MAX_REPORT_BYTES:
        raise Refusal(f"the replica's report is over {MAX_REPORT_BYTES} bytes")
    try:
        report = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Refusal("the replica's report is not JSON") from None
    fields = {"checked_at", "reachable", "error", "pool", "verify", "volumes"}
    report = _keys(report, fields, "the report")
    if not isinstance(report["reachable"], bool):
        raise Refusal("the replica's report: reachable is not true or false")
    pool = _keys(report["pool"], {"size_bytes", "free_bytes"}, "pool")
    volumes = report["volumes"]
    if not isinstance(volumes, dict) or len(volumes) > MAX_VOLUMES:
        raise Refusal(f"the replica's report: volumes is not an object of at most {MAX_VOLUMES}")
    return {
        "checked_at": _time(report["checked_at"], "checked_at"),
        "reachable": report["reachable"],
        "error": _sentence(report["error"], "error"),
        "pool": {
            "size_bytes": _number(pool["size_bytes"], MAX_BYTES, "the pool's size_bytes"),
            "free_bytes": _number(pool["free_bytes"], MAX_BYTES, "the pool's free_bytes"),
        },
        "verify": _verify(report["verify"]),
        "volumes": {_user(user): _volume(user, entry) for user, entry in volumes.items()},
    }


def store(report: dict) -> None:
    """The checked report, with the primary's clock of its arrival, replaces
    the last one whole."""
    record = {**report, "received_at": snapshots.iso(snapshots.now())}
    text = json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"
    directory = locks.root_only_directory(settings().STATE_DIR, "state directory")
    try:
        atomic_files.replace(directory, STATE_FILE, text, 0o600)
    finally:
        os.close(directory)


def load() -> dict | None:
    """The last stored report, or None when the replica never reported."""
    directory = locks.root_only_directory(settings().STATE_DIR, "state directory")
    try:
        fd = os.open(STATE_FILE, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=directory)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise Refusal(f"unsafe record {STATE_FILE}: {error.strerror}") from None
    finally:
        os.close(directory)
    with os.fdopen(fd, "rb") as record:
        if not stat.S_ISREG(os.fstat(record.fileno()).st_mode):
            raise Refusal(f"unsafe record {STATE_FILE}: not a regular file")
        return json.loads(record.read(MAX_REPORT_BYTES * 2))
