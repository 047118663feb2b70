"""Check-in tokens: 192 random bits, URL-safe; only their SHA-256 is kept."""

import hashlib
import re
import secrets

TOKEN_BYTES = 24  # 32 characters of base64url
SHAPE = re.compile(r"[A-Za-z0-9_-]{32}")


def new() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(token: str) -> str:
    """The stored form. A plain hash suffices (no salt, no slow hash): the
    token is random and long, nothing a dictionary holds."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def well_formed(token: str) -> bool:
    return SHAPE.fullmatch(token) is not None


def shown(token_hash: str) -> str:
    """How logs name a check-in: a prefix of its hash, never the token."""
    return token_hash[:12]
