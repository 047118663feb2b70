"""manage.py check_prerequisites: the same as check_prerequisities (the
original's spelling)."""

from .check_prerequisities import Command  # noqa: F401
