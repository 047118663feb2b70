"""The server checks behind ``manage.py check_prerequisities``.

They are Django system checks, in a registry of their own under the tag
``prerequisites``: they ask sudo, the wrappers and the disks, so they run
when check_prerequisities asks for them, never on every manage.py command.
The settings are checked by Django's own ``check --deploy``, which
check_prerequisities runs first.

Each check is a small function taking the Context and returning one
message: Info (printed OK) with what it found, Error (FAIL) with what is
wrong and how to fix it, or Warning (WARN). Checks about privileges are made
from the service user's point of view: run as that user (as the original
README did), or as root, in which case sudo is tried through
``runuser -u <service user>``.

Each check has a number, and its messages the ids
``backup.prerequisites.E0NN`` (failed), ``W0NN`` (warning) and ``I0NN``
(passed), as contrib's checks have: an admin who knows better silences one
by its id in ``SILENCED_SYSTEM_CHECKS`` (the config file's
``silenced_checks``), and check_prerequisities then leaves it out. The
numbers are stable: a new check takes the next one, a removed one's number
is never reused.

One module per concern: ``machine`` (service user, commands, wrappers,
sudo), ``storage`` (pool, ACLs), ``samba``, ``sshd``, ``files`` (RRDs,
database, static files), ``replica`` (the second server's key and
reports); ``base`` holds what they share.
"""

import contextvars
from collections.abc import Callable

from django.core import checks as django_checks
from django.core.checks import CheckMessage
from django.core.checks.registry import CheckRegistry

from .base import TAG, Context, fail, line, ok
from .files import database, rrd_directory, static_files
from .machine import env_reset, executables, service_user, sudo_wrappers, wrappers_root_owned
from .replica import primary_cannot_log_in_to_replica, replica_key_and_reports
from .samba import (
    samba_passdb_agrees,
    samba_share,
    samba_version,
    samba_version_problem,
    samba_vfs_modules,
)
from .sshd import refuses_passwords_for, sshd_refuses_backup_accounts
from .storage import directories_root_acls, volume_group

__all__ = ["Context", "line", "refuses_passwords_for", "run_all", "samba_version_problem"]

PREREQUISITES = CheckRegistry()

# (number, check), in the order check_prerequisities prints them.
CHECKS: tuple[tuple[int, Callable[[Context], CheckMessage]], ...] = (
    (1, service_user),
    (2, executables),
    (3, wrappers_root_owned),
    (4, sudo_wrappers),
    (5, env_reset),
    (6, volume_group),
    (7, directories_root_acls),
    (8, samba_share),
    (9, samba_vfs_modules),
    (10, samba_version),
    (11, samba_passdb_agrees),
    (12, sshd_refuses_backup_accounts),
    (13, rrd_directory),
    (14, database),
    (15, static_files),
    (16, replica_key_and_reports),
    (17, primary_cannot_log_in_to_replica),
)
LEVEL_LETTERS = {django_checks.INFO: "I", django_checks.WARNING: "W"}


def check_id(number: int, level: int) -> str:
    """The id of a check's message: backup.prerequisites.E006 and so on."""
    return f"backup.{TAG}.{LEVEL_LETTERS.get(level, 'E')}{number:03d}"


def service_user_name() -> str:
    from django.conf import settings

    return str(settings.SERVICE_USER)


_context: contextvars.ContextVar[Context] = contextvars.ContextVar("prerequisites_context")


def _as_django_check(
    position: int, number: int, function: Callable[[Context], CheckMessage]
) -> Callable[..., list[CheckMessage]]:
    """function(context) -> message, as a check in the PREREQUISITES registry
    (Django's checks take no arguments of ours: the context travels in a
    context variable that run_all sets)."""

    def check(app_configs: object = None, **kwargs: object) -> list[CheckMessage]:
        try:
            message = function(_context.get())
        except Exception as error:  # noqa: BLE001 (one line per check, whatever happens)
            message = fail(function.__name__, f"the check itself failed ({error!r}): report this")
        message.id = check_id(number, message.level)
        message.position = position  # type: ignore[attr-defined]
        return [message]

    check.__name__ = function.__name__
    return check


for _position, (_number, _function) in enumerate(CHECKS):
    PREREQUISITES.register(_as_django_check(_position, _number, _function), TAG)


def settings_checked() -> list[CheckMessage]:
    """Django's own deployment checks (DEBUG, SECRET_KEY, ALLOWED_HOSTS,
    HTTPS…), as one line, or one FAIL line per problem."""
    found = [
        message
        for message in django_checks.run_checks(include_deployment_checks=True)
        if message.level >= django_checks.WARNING and not message.is_silenced()
    ]
    if not found:
        return [ok("settings", "check --deploy found no issues")]
    return [fail("settings", f"{message.id}: {message.msg}") for message in found]


def run_all(context: Context) -> list[CheckMessage]:
    """The settings, then every server check not silenced, in order; one
    message each."""
    token = _context.set(context)
    try:
        found = PREREQUISITES.run_checks(tags=[TAG])
    finally:
        _context.reset(token)
    # Django runs a registry's checks in no set order; print them in ours.
    found.sort(key=lambda message: getattr(message, "position", 0))
    return settings_checked() + [message for message in found if not message.is_silenced()]
