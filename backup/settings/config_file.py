"""Reading the production TOML file: every key has a type, and a value of
the wrong type is refused at start, never converted.

Converting is how ``admins = "alice"`` once made SSO users a, l, i, c and e
superusers and ``sso_strip_realm = "no"`` meant yes. The one conversion is
str -> Path, since TOML has no path type.
"""

import tomllib
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

STR_LIST = "list of strings"
INT_TABLE = "table of whole numbers"
INT_LIST = "list of whole numbers"
TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number with a decimal point",
    bool: "true or false",
    Path: "a path string",
}


def load(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as config_file:
            return tomllib.load(config_file)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ImproperlyConfigured(f"cannot read {path}: {error}") from error


def _matches(value: Any, kind: Any) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        # TOML's true is a Python bool, which is an int: not a number here.
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is str:
        return isinstance(value, str)
    if kind is Path:
        return isinstance(value, str) and value.startswith("/")
    if kind is float:
        return isinstance(value, float)
    if kind == STR_LIST:
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    if kind == INT_LIST:
        return isinstance(value, list) and all(
            isinstance(item, int) and not isinstance(item, bool) for item in value
        )
    if kind == INT_TABLE:
        return isinstance(value, dict) and all(
            isinstance(item, int) and not isinstance(item, bool) for item in value.values()
        )
    raise AssertionError(f"unknown setting type {kind!r}")


def typed(path: Path, key: str, value: Any, kind: Any) -> Any:
    """value, checked against kind (str -> Path converted), or refused with
    the key, the expected type and the value."""
    if not _matches(value, kind):
        expected = TYPE_NAMES.get(kind, "a " + str(kind))
        if kind is Path:
            expected = "an absolute path (a string starting with /)"
        raise ImproperlyConfigured(
            f"{path}: {key} must be {expected}, not {type(value).__name__} {value!r}"
        )
    return Path(value) if kind is Path else value


def apply(path: Path, config: dict[str, Any], keys: dict[str, tuple[str, Any]], target: dict):
    """Set target[SETTING] for every key of config, typed; refuse unknown keys."""
    unknown = sorted(set(config) - set(keys))
    if unknown:
        raise ImproperlyConfigured(f"{path}: unknown keys {', '.join(unknown)}")
    for key, value in config.items():
        name, kind = keys[key]
        target[name] = typed(path, key, value, kind)
