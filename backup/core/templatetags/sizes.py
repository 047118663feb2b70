"""``{{ bytes|binary_size }}`` for every app's pages (backup.core.sizes)."""

from django import template

from backup.core import sizes

register = template.Library()


@register.filter
def binary_size(n):
    """A byte count in binary units ("3.9 GiB"): backup.core.sizes.binary_size.
    Like Django's own filters it never raises: a value that is no number (a
    missing field renders as "") is shown as unknown, not as a server error."""
    try:
        return sizes.binary_size(n)
    except (TypeError, ValueError):
        return sizes.binary_size(None)
