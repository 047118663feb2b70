"""Typed readers for one field of a wrapper's JSON result, each checking
type, range and bound once.

Hand-written, not a schema library: the client is stdlib-only apart from
Django, a dozen result shapes don't pay for a new dependency on the
privileged path, and each reader says in one line what it accepts.
A reader raises ``Malformed`` naming where in the result it failed
(``volumes[2].size_bytes``); results.py turns that into the client's
``Failed`` for the wrapper that printed it.
"""

import functools
import re
import reprlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TypeVar

T = TypeVar("T")

# Largest figure accepted: what a signed 64-bit database column holds.
MAX_COUNT = 2**63 - 1
# Longest name from a user's volume after the wrappers' escaping (their
# found.MAX_NAME_CHARS and snapshot_files' display()).
MAX_NAME_CHARS = 300
# Longest server path, setting value or one-line message a wrapper prints.
MAX_TEXT_CHARS = 4096
# Most items in one list of a result (the all-volumes forms list every
# volume; a server holds far fewer).
MAX_ITEMS = 100_000
WIRE_TIME = "%Y-%m-%dT%H:%M:%SZ"
ACCOUNT = re.compile(r"[a-z][a-z0-9._-]{0,31}")
SNAPSHOT = re.compile(r"@GMT-\d{4}\.\d{2}\.\d{2}-\d{2}\.\d{2}\.\d{2}")


@functools.lru_cache(maxsize=65536)
def _is_time(value: str) -> bool:
    # Cached: an all-volumes result repeats the same times (one run's
    # snapshot names and times are the same on every volume), and strptime
    # is most of a large result's parsing cost otherwise.
    try:
        datetime.strptime(value, WIRE_TIME)
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=65536)
def _matches(pattern: re.Pattern[str], value: str) -> bool:
    return pattern.fullmatch(value) is not None


class Malformed(ValueError):
    """A result that breaks the documented shape; the message says where."""


# A value quoted in a reason: bounded before it is built (reprlib never
# renders all of a huge list or string), then cut.
_REPR = reprlib.Repr()  # (keyword arguments only from Python 3.12)
_REPR.maxstring = _REPR.maxother = 40
_REPR.maxlist = _REPR.maxdict = 4
_REPR.maxlevel = 2


def _shown(value: object) -> str:
    text = _REPR.repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def reader_for(where: str, raw: object) -> "Fields":
    if not isinstance(raw, dict):
        raise Malformed(f"{where or 'result'}: not an object but {type(raw).__name__}")
    return Fields(raw, where)


class Fields:
    """One JSON object of a result; each method reads one field by name.
    Keys not read are dropped by the caller, who builds a new dict from
    what was read: nothing unchecked passes through."""

    def __init__(self, raw: Mapping[str, object], where: str) -> None:
        self.raw = raw
        self.where = where

    def _path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def _get(self, key: str) -> object:
        if key not in self.raw:
            raise Malformed(f"{self._path(key)}: missing")
        return self.raw[key]

    def _fail(self, key: str, why: str) -> Malformed:
        return Malformed(f"{self._path(key)}: {why}")

    def count(self, key: str) -> int:
        """An int from 0 to MAX_COUNT (a bool is no number, though Python says so)."""
        value = self._get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._fail(key, f"not a whole number but {_shown(value)}")
        if not 0 <= value <= MAX_COUNT:
            raise self._fail(key, f"out of range ({_shown(value)})")
        return value

    def optional_count(self, key: str) -> int | None:
        return None if self._get(key) is None else self.count(key)

    def flag(self, key: str) -> bool:
        value = self._get(key)
        if not isinstance(value, bool):
            raise self._fail(key, f"not true or false but {_shown(value)}")
        return value

    def optional_flag(self, key: str) -> bool | None:
        return None if self._get(key) is None else self.flag(key)

    def text(self, key: str, limit: int = MAX_TEXT_CHARS) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            raise self._fail(key, f"not text but {_shown(value)}")
        if len(value) > limit:
            raise self._fail(key, f"longer than {limit} characters ({len(value)})")
        return value

    def optional_text(self, key: str, limit: int = MAX_TEXT_CHARS) -> str | None:
        return None if self._get(key) is None else self.text(key, limit)

    def name(self, key: str) -> str:
        """A name or path from a user's volume, as the wrappers escape and cut it."""
        return self.text(key, MAX_NAME_CHARS)

    def optional_name(self, key: str) -> str | None:
        return self.optional_text(key, MAX_NAME_CHARS)

    def matching(self, key: str, pattern: re.Pattern[str]) -> str:
        value = self.text(key, 512)
        if not _matches(pattern, value):
            raise self._fail(key, f"not of the expected form: {_shown(value)}")
        return value

    def account(self, key: str = "user") -> str:
        return self.matching(key, ACCOUNT)

    def snapshot(self, key: str) -> str:
        return self.matching(key, SNAPSHOT)

    def optional_snapshot(self, key: str) -> str | None:
        return None if self._get(key) is None else self.snapshot(key)

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        value = self.text(key, 64)
        if value not in allowed:
            raise self._fail(key, f"not one of {', '.join(allowed)}: {_shown(value)}")
        return value

    def optional_choice(self, key: str, allowed: tuple[str, ...]) -> str | None:
        return None if self._get(key) is None else self.choice(key, allowed)

    def time(self, key: str) -> str:
        """A UTC time as the wrappers write it. Kept as that text (checked to
        be a real time): results are cached and stored as JSON."""
        value = self.text(key, 20)
        if not _is_time(value):
            raise self._fail(key, f"not a time YYYY-MM-DDTHH:MM:SSZ: {_shown(value)}")
        return value

    def optional_time(self, key: str) -> str | None:
        return None if self._get(key) is None else self.time(key)

    def nested(self, key: str) -> "Fields":
        return reader_for(self._path(key), self._get(key))

    def optional_nested(self, key: str) -> "Fields | None":
        return None if self._get(key) is None else self.nested(key)

    def list_of(
        self, key: str, item: Callable[[object, str], T], limit: int = MAX_ITEMS
    ) -> list[T]:
        """A list of at most ``limit`` items, each read by ``item(raw, where)``."""
        value = self._get(key)
        if not isinstance(value, list):
            raise self._fail(key, f"not a list but {type(value).__name__}")
        if len(value) > limit:
            raise self._fail(key, f"more than {limit} items ({len(value)})")
        return [item(entry, f"{self._path(key)}[{index}]") for index, entry in enumerate(value)]

    def names(self, key: str, limit: int = MAX_ITEMS) -> list[str]:
        return self.list_of(key, _name_item, limit)

    def snapshots(self, key: str) -> list[str]:
        return self.list_of(key, _snapshot_item)

    def by_account(self, key: str, item: Callable[[object, str], T]) -> dict[str, T]:
        """An object keyed by account name, each value read by ``item``."""
        value = self._get(key)
        if not isinstance(value, dict):
            raise self._fail(key, f"not an object but {type(value).__name__}")
        if len(value) > MAX_ITEMS:
            raise self._fail(key, f"more than {MAX_ITEMS} volumes ({len(value)})")
        out: dict[str, T] = {}
        for account, entry in value.items():
            if not ACCOUNT.fullmatch(account):
                raise self._fail(key, f"not an account name: {_shown(account)}")
            out[account] = item(entry, f"{self._path(key)}.{account}")
        return out


def _name_item(raw: object, where: str) -> str:
    if not isinstance(raw, str) or len(raw) > MAX_NAME_CHARS:
        raise Malformed(f"{where}: not a name of at most {MAX_NAME_CHARS} characters")
    return raw


def _snapshot_item(raw: object, where: str) -> str:
    if not isinstance(raw, str) or len(raw) > 512 or not _matches(SNAPSHOT, raw):
        raise Malformed(f"{where}: not a snapshot name: {_shown(raw)}")
    return raw
