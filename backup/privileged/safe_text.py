"""Text from a wrapper made safe once, where its output is parsed.

Wrapper output carries what users named on their volumes. The wrappers
escape names already; this is the portal's own guarantee, so that no
string from a wrapper can break a log line, a terminal or a database write,
whatever a wrapper (or a future one) lets through.
"""

import unicodedata
from typing import Any

# Control, format (bidi overrides can disguise a name), surrogate (not
# storable as UTF-8), line and paragraph separators.
_HIDDEN_CATEGORIES = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text: str) -> str:
    """text with every hidden character escaped as \\xNN or \\uNNNN."""
    if text.isprintable() and text.isascii():
        return text  # the common case, without a look at each character
    return "".join(
        _escape(char) if unicodedata.category(char) in _HIDDEN_CATEGORIES else char for char in text
    )


def safe_json(value: Any) -> Any:
    """A parsed JSON value with every string, keys included, made safe."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, list):
        return [safe_json(item) for item in value]
    if isinstance(value, dict):
        return {safe_text(key): safe_json(item) for key, item in value.items()}
    return value
