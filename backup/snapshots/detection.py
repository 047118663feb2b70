"""Mass-change detection: is a snapshot's change far beyond the volume's
usual? The thresholds and why they are what they are: settings (base.py)."""

import statistics

from django.conf import settings
from django.utils.translation import gettext as _

from backup.stats.units import binary_size


def mass_change_reason(
    changed_bytes: int | None, previous_used_bytes: int | None, history: list[int]
) -> dict | None:
    """Why this change is a mass change (the rule that fired and its
    figures, which describe() puts in words), or None when it is not one.

    ``history`` holds the volume's recent non-zero changes before this one.
    """
    if changed_bytes is None or changed_bytes < settings.MASS_CHANGE_MIN_BYTES:
        return None
    # Rule 1 only where there was something to lose: a first backup into an
    # empty volume "changes" far more than the nothing it held before.
    if (
        previous_used_bytes
        and previous_used_bytes >= settings.MASS_CHANGE_MIN_BYTES
        and changed_bytes >= settings.MASS_CHANGE_SHARE * previous_used_bytes
    ):
        return {
            "rule": "share",
            "changed": changed_bytes,
            "held": previous_used_bytes,
            "share": round(100 * changed_bytes / previous_used_bytes),
        }
    recent = history[-settings.MASS_CHANGE_HISTORY :]
    if len(recent) >= settings.MASS_CHANGE_MIN_HISTORY:
        median = statistics.median(recent)
        if changed_bytes > settings.MASS_CHANGE_MEDIAN_FACTOR * median:
            return {
                "rule": "median",
                "changed": changed_bytes,
                "times": round(changed_bytes / median),
                "usual": round(median),
            }
    return None


def describe(reason: dict) -> str:
    """A mass change's reason in words, in the active language (the reader's:
    the page's, or the email recipient's)."""
    if reason["rule"] == "share":
        return _("%(changed)s changed, %(share)d%% of the %(held)s the volume held") % {
            "changed": binary_size(reason["changed"]),
            "share": reason["share"],
            "held": binary_size(reason["held"]),
        }
    return _("%(changed)s changed, %(times)d times the usual %(usual)s") % {
        "changed": binary_size(reason["changed"]),
        "times": reason["times"],
        "usual": binary_size(reason["usual"]),
    }
