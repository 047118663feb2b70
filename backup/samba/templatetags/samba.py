from django import template

from backup.samba.connection import Connection

register = template.Library()


@register.simple_tag
def samba_connection(account):
    """{% samba_connection volume.account as smb %}: the addresses to show."""
    return Connection.for_account(account)
