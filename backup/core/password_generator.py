"""Backup passwords: random, readable, typed once into backup software."""

import secrets

# No look-alikes (0/o, 1/l/i), so a password read off the screen is typed right.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
GROUPS = 5
GROUP_LENGTH = 5


def generate() -> str:
    """25 random characters in five dash-separated groups (about 124 bits)."""
    return "-".join(
        "".join(secrets.choice(ALPHABET) for _ in range(GROUP_LENGTH)) for _ in range(GROUPS)
    )
