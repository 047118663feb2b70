"""Which single sign-on names become backup accounts, and how.

The account name must pass the wrappers' own full-match rule
(wrappers/wrapperlib/validate.py; a test keeps the two identical), or every
privileged call for that person would be refused.
"""

import re

from django.conf import settings

USERNAME_PATTERN = re.compile(r"[a-z][a-z0-9._-]{0,31}")


def normalise(remote_user):
    """alice@EXAMPLE.COM -> alice (per SSO_STRIP_REALM and SSO_LOWERCASE)."""
    name = remote_user.strip()
    if settings.SSO_STRIP_REALM and "@" in name:
        name = name.split("@", 1)[0]
    if settings.SSO_LOWERCASE:
        name = name.lower()
    return name


def is_acceptable(name):
    return bool(USERNAME_PATTERN.fullmatch(name))
