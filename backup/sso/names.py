"""Which single sign-on names become backup accounts, and how.

Two different REMOTE_USER values reach the same account only where a
setting says they are the same person: a realm listed in SSO_REALMS
(``alice@EXAMPLE.COM`` is ``alice``), or SSO_CASE_INSENSITIVE (``Alice`` is
``alice``). Everything else that is not already an account name is
refused, never rewritten.

Every name that comes from outside (REMOTE_USER, a form, the admin
pages' search and addresses) is refused unless it is ASCII, BEFORE it is
compared or its case folded: Unicode case rules and Django's NFKC
normalisation map letters from elsewhere onto ASCII ones (KELVIN SIGN K
lowers to ``k``, LONG S folds to ``s``, fullwidth letters normalise
to their ASCII twins), which would make another person's name sign in as someone else.
``require_ascii`` is that one check; ``is_account_name`` and
``typed_matches`` are built on it.

The account name must pass the wrappers' own full-match rule
(wrappers/wrapperlib/validate.py; a test keeps the two identical), or every
privileged call for that person would be refused.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from backup.core.errors import UserFacingError

USERNAME_PATTERN = re.compile(r"[a-z][a-z0-9._-]{0,31}")


class UnacceptableName(UserFacingError):
    status = 403


def require_ascii(value: str) -> str:
    """``value`` unchanged when it is plain ASCII, else UnacceptableName.
    Call it before any comparison, ``lower()``, ``casefold()`` or
    normalisation of a name from outside."""
    if not is_ascii(value):
        raise UnacceptableName(
            _(
                "Names here may contain only plain letters (a-z), digits and punctuation; "
                "“%(name)s” contains other characters, which could stand for another "
                "person's name."
            )
            % {"name": value.encode("ascii", "backslashreplace").decode()}
        )
    return value


def is_ascii(value: str) -> bool:
    """require_ascii as a test, for callers that refuse by finding nothing."""
    return value.isascii()


def ascii_name_validator(value: str) -> None:
    """require_ascii for a Django form field."""
    try:
        require_ascii(value)
    except UnacceptableName as refusal:
        raise ValidationError(refusal.message, code="not_ascii") from None


def is_account_name(value: str) -> bool:
    """Whether ``value``, as given, is a possible account name (no folding)."""
    return is_ascii(value) and USERNAME_PATTERN.fullmatch(value) is not None


def typed_matches(typed: str | None, expected: str) -> bool:
    """A typed confirmation of a name: exactly ``expected`` (surrounding
    spaces aside), never a look-alike from outside ASCII."""
    typed = (typed or "").strip()
    return is_ascii(typed) and typed == expected


def account_name(remote_user: str) -> str:
    """The account REMOTE_USER signs in to, or UnacceptableName saying why."""
    require_ascii(remote_user)
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
