"""{% load times %}: every time a template shows goes through these
(tests/test_times.py refuses Django's |date and |time elsewhere)."""

from django import template

from backup.core import times

register = template.Library()


@register.filter
def absolute_time(when, seconds=False):
    """{{ when|absolute_time }}, {{ when|absolute_time:True }} with seconds."""
    return times.absolute_time(when, seconds=bool(seconds))


@register.filter
def absolute_date(when):
    return times.absolute_date(when)


@register.filter
def relative_time(when, now=None):
    """{{ when|relative_time }}, or relative to another time: {{ when|relative_time:now }}."""
    return times.relative_time(when, now)


@register.filter
def machine_time(when):
    """For <time datetime="…">: ISO UTC, read by machines, never shown."""
    return times.machine_time(when)
