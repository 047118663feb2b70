"""Sizes for people, in binary units: volumes are made in GiB, so every page
and graph says GiB (and KiB, MiB, TiB), never a decimal "GB" for 2**30 bytes."""

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

NO_BREAK_SPACE = "\xa0"


def _units():
    # Translated when a size is formatted, in the language of the request.
    return (
        (1 << 10, _("%(size)s KiB")),
        (1 << 20, _("%(size)s MiB")),
        (1 << 30, _("%(size)s GiB")),
        (1 << 40, _("%(size)s TiB")),
        (1 << 50, _("%(size)s PiB")),
    )


def binary_size(n: int | float | None) -> str:
    """``n`` bytes as "3.9 GiB", "24 KiB", "512 bytes": one decimal, none
    when it is zero, localised, with a no-break space before the unit (as
    Django's filesizeformat) so a size never wraps; None is a dash."""
    if n is None:
        return "\N{EN DASH}"
    n = int(n)
    sign = "-" if n < 0 else ""
    size = abs(n)
    if size < 1024:
        text = ngettext("%(size)d byte", "%(size)d bytes", size) % {"size": size}
        return sign + text.replace(" ", NO_BREAK_SPACE)
    units = _units()
    factor, label = units[-1]
    for candidate in units:
        if round(size / candidate[0], 1) < 1024:
            factor, label = candidate
            break
    value = round(size / factor, 1)
    if value == int(value):
        text = number_format(int(value), use_l10n=True)
    else:
        text = number_format(value, 1, use_l10n=True)
    return sign + (label % {"size": text}).replace(" ", NO_BREAK_SPACE)
