"""Which single sign-on names become backup accounts, and how.

Two different REMOTE_USER values reach the same account only where a
setting says they are the same person: a realm listed in SSO_REALMS
(``alice@EXAMPLE.COM`` is ``alice``), or SSO_CASE_INSENSITIVE (``Alice`` is
``alice``). Everything else that is not already an account name is
refused, never rewritten.

The account name must pass the wrappers' own full-match rule
(wrappers/wrapperlib/validate.py; a test keeps the two identical), or every
privileged call for that person would be refused.
"""

import re

from django.conf import settings
from django.utils.translation import gettext as _

from backup.operations.errors import UserFacingError

USERNAME_PATTERN = re.compile(r"[a-z][a-z0-9._-]{0,31}")


class UnacceptableName(UserFacingError):
    status = 403


def account_name(remote_user: str) -> str:
    """The account REMOTE_USER signs in to, or UnacceptableName saying why."""
    name, at, realm = remote_user.rpartition("@") if "@" in remote_user else (remote_user, "", "")
    if at and realm not in settings.SSO_REALMS:
        raise UnacceptableName(
            _(
                "You signed in from “%(realm)s”, which this backup service does not accept "
                "accounts from."
            )
            % {"realm": realm}
        )
    if settings.SSO_CASE_INSENSITIVE:
        name = name.lower()
    if not USERNAME_PATTERN.fullmatch(name):
        raise UnacceptableName(
            _(
                "Backup accounts need a name made of lowercase letters, digits, dots, dashes "
                "or underscores, starting with a letter, and at most 32 characters long."
            )
        )
    return name
