"""Sizes as people read them, in the one unit system of the portal: binary
units (KiB, MiB, GiB, TiB), like the sizes volumes are given in. Django's
filesizeformat says "GB" for 1024³ bytes, so the same volume read "4.0 GB"
on one page and "4 GiB" on another."""

from django.utils.formats import number_format
from django.utils.html import avoid_wrapping
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

KIB = 1024
UNITS = (
    (KIB**5, lambda value: _("%s PiB") % value),
    (KIB**4, lambda value: _("%s TiB") % value),
    (KIB**3, lambda value: _("%s GiB") % value),
    (KIB**2, lambda value: _("%s MiB") % value),
    (KIB, lambda value: _("%s KiB") % value),
)


def binary_size(size_bytes: int | float | None) -> str:
    """'3.9 GiB', '24.0 KiB', '512 bytes' (number and unit never split
    across lines); an unknown size (None) is an en dash."""
    if size_bytes is None:
        return "\u2013"
    size_bytes = int(size_bytes)
    negative = size_bytes < 0
    size = abs(size_bytes)
    for factor, unit in UNITS:
        if size >= factor:
            text = unit(number_format(round(size / factor, 1), 1))
            break
    else:
        text = ngettext("%(size)d byte", "%(size)d bytes", size) % {"size": size}
    return avoid_wrapping(f"-{text}" if negative else text)
