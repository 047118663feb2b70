"""Mass-change detection: is a snapshot's change far beyond the volume's
usual? The thresholds and why they are what they are: settings (base.py)."""

import statistics

from django.conf import settings
from django.template.defaultfilters import filesizeformat


def mass_change_reason(
    changed_bytes: int | None, previous_used_bytes: int | None, history: list[int]
) -> str | None:
    """Why this change is a mass change, or None when it is not one.

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
        share = round(100 * changed_bytes / previous_used_bytes)
        return (
            f"{filesizeformat(changed_bytes)} changed, {share}% of the "
            f"{filesizeformat(previous_used_bytes)} the volume held"
        )
    recent = history[-settings.MASS_CHANGE_HISTORY :]
    if len(recent) >= settings.MASS_CHANGE_MIN_HISTORY:
        median = statistics.median(recent)
        if changed_bytes > settings.MASS_CHANGE_MEDIAN_FACTOR * median:
            return (
                f"{filesizeformat(changed_bytes)} changed, {round(changed_bytes / median)} "
                f"times the usual {filesizeformat(median)}"
            )
    return None
