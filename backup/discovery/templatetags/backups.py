"""{% your_backups volume as report %}: the dashboard's "Your backups" from
the stored scan, so that the dashboard's view need not know about it (and
makes no privileged call for it)."""

from django import template

from backup.discovery import dashboard

register = template.Library()


@register.simple_tag
def your_backups(volume):
    return dashboard.report_for(volume)
