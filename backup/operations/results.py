"""The one registry of what an operation's outcome says: a result is stored
as facts (a code and its parameters, JSON), and told with gettext when a
page shows it, in the reader's language, naming whose volume when the
reader is not its owner.

A sentence made with gettext when the work ended would stay in the
language of whoever acted; an admin's page would read "Your volume..."
about someone else's.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from backup.core.times import absolute_time

# The wrappers' snapshot names (wrappers/README.md), as strptime reads them.
SNAPSHOT_NAME = "@GMT-%Y.%m.%d-%H.%M.%S"

logger = logging.getLogger("backup.operations")


class Result(dict):
    """Facts of an outcome: {"code": ..., parameters...}; JSON as it is."""


@dataclass(frozen=True)
class Sentence:
    # Said to the volume's owner; ``other`` to anyone else (it names the
    # owner as %(owner)s), None when the sentence does not depend on who reads.
    own: Promise
    other: Promise | None = None


SENTENCES: dict[str, Sentence] = {
    # Success of a kind's work.
    "created": Sentence(
        _("Your %(size)d GiB backup volume is ready."),
        _("The %(size)d GiB backup volume of %(owner)s is ready."),
    ),
    "grown": Sentence(
        _("Your volume now has %(size)d GiB."),
        _("The volume of %(owner)s now has %(size)d GiB."),
    ),
    "already_deleted": Sentence(
        _("Your volume was already deleted; it will be destroyed on %(date)s."),
        _("The volume of %(owner)s was already deleted; it will be destroyed on %(date)s."),
    ),
    "suspended": Sentence(
        _(
            "Your volume is no longer available for backups. It will be destroyed on "
            "%(date)s, when the protection of its snapshots ends; until then you can undo "
            "this from your page."
        ),
        _(
            "The volume of %(owner)s is no longer available for backups. It will be "
            "destroyed on %(date)s, when the protection of its snapshots ends; until then "
            "this can be undone from their page."
        ),
    ),
    "deleted": Sentence(
        _("Your backup volume and everything on it were deleted."),
        _("The backup volume of %(owner)s and everything on it were deleted."),
    ),
    "undeleted": Sentence(
        _("Your volume is back and ready for backups, with everything it held."),
        _("The volume of %(owner)s is back and ready for backups, with everything it held."),
    ),
    "destroyed": Sentence(
        _("The deleted volume was destroyed: the protection of its snapshots had ended."),
        _(
            "The deleted volume of %(owner)s was destroyed: the protection of its "
            "snapshots had ended."
        ),
    ),
    "destroyed_outside": Sentence(
        _(
            "The deleted volume was destroyed by an administrator with the server's own tool "
            "(%(tool)s), before its planned date; the portal's records were completed."
        )
    ),
    "no_time_machine": Sentence(
        _("There were no Time Machine backups on your volume."),
        _("There were no Time Machine backups on the volume of %(owner)s."),
    ),
    "time_machine_deleted": Sentence(_("Deleted Time Machine backups: %(names)s.")),
    "mounted": Sentence(
        _("Your volume is mounted and ready for backups."),
        _("The volume of %(owner)s is mounted and ready for backups."),
    ),
    "defragmented": Sentence(
        _("Your volume was defragmented."),
        _("The volume of %(owner)s was defragmented."),
    ),
    "scrubbed": Sentence(
        _("The check found no errors on your volume."),
        _("The check found no errors on the volume of %(owner)s."),
    ),
    "create_kept": Sentence(
        _("Your volume had been created completely before the interruption; it was kept."),
        _(
            "The volume of %(owner)s had been created completely before the interruption; "
            "it was kept."
        ),
    ),
    "create_undone": Sentence(
        _(
            "The interrupted creation of your volume was undone; nothing was kept. "
            "You can create your volume again."
        ),
        _(
            "The interrupted creation of the volume of %(owner)s was undone; nothing was "
            "kept. It can be created again."
        ),
    ),
    "checked_empty": Sentence(
        _("Your volume was checked: there are no backups on it yet."),
        _("The volume of %(owner)s was checked: there are no backups on it yet."),
    ),
    "checked": Sentence(
        ngettext_lazy(
            "Your volume was checked: %(count)d backup source found.",
            "Your volume was checked: %(count)d backup sources found.",
            "count",
        ),
        ngettext_lazy(
            "The volume of %(owner)s was checked: %(count)d backup source found.",
            "The volume of %(owner)s was checked: %(count)d backup sources found.",
            "count",
        ),
    ),
    "source_deleted": Sentence(_("The backups of %(name)s were deleted.")),
    "restored": Sentence(
        ngettext_lazy(
            "Restored %(files)d file from the snapshot of %(snapshot)s into the folder "
            "“%(folder)s”.",
            "Restored %(files)d files from the snapshot of %(snapshot)s into the folder "
            "“%(folder)s”.",
            "files",
        ),
    ),
    "rolled_back": Sentence(
        _(
            "Your volume is back to the snapshot of %(snapshot)s. What it held before is "
            "kept as the snapshot of %(kept_as)s."
        ),
        _(
            "The volume of %(owner)s is back to the snapshot of %(snapshot)s. What it held "
            "before is kept as the snapshot of %(kept_as)s."
        ),
    ),
    "password_set": Sentence(
        _("A new backup password was set."),
        _("A new backup password was set for %(owner)s."),
    ),
    "password_not_set": Sentence(
        _(
            "Your password could not be changed; the previous one may still be in use. "
            "Please try again, or contact %(contact)s."
        ),
        _(
            "The password of %(owner)s could not be changed; the previous one may still be "
            "in use. Please try again, or contact %(contact)s."
        ),
    ),
    "quota_changed": Sentence(_("Quota changed from %(old)d GiB to %(new)d GiB.")),
    # Why an alert channel was not reached (backup.alerts.channels).
    "channel_unresolved": Sentence(_("the name %(host)s could not be resolved")),
    "channel_inside": Sentence(
        _(
            "%(host)s is an address inside the server's network (%(address)s), which "
            "alerts are not sent to"
        )
    ),
    "channel_reached_refused": Sentence(_("the connection reached %(address)s, which is refused")),
    "channel_not_reached": Sentence(_("not reached: %(error)s")),
    "channel_redirect": Sentence(
        _("the service answered with a redirect (%(status)d), which alerts don't follow")
    ),
    "channel_refused": Sentence(_("the service refused the message (HTTP %(status)d)")),
    # Ends that no work chose.
    "server_error": Sentence(
        _(
            "Something went wrong on the server. The details were recorded; please "
            "contact %(contact)s before trying again."
        )
    ),
    "not_queued": Sentence(
        _(
            "Your request could not be handed to the server's task worker, so "
            "nothing was done. Please try again in a moment; if it keeps failing, "
            "contact %(contact)s."
        ),
        _(
            "The request could not be handed to the server's task worker, so nothing "
            "was done. Please try again in a moment; if it keeps failing, contact "
            "%(contact)s."
        ),
    ),
    "interrupted": Sentence(
        _("“%(kind)s” was interrupted: the server stopped while it ran. %(then)s")
    ),
    "ended_by_admin": Sentence(_("Ended by an administrator (%(admin)s). %(then)s")),
    "ended": Sentence(_("Ended “%(kind)s” (operation %(id)d), which was %(state)s.")),
    "then_undo": Sentence(_("What it had done is being undone; you can then try again.")),
    "then_retry": Sentence(
        _("Please try again; if your volume does not look right, contact %(contact)s."),
        _("Please try again; if the volume does not look right, contact %(contact)s."),
    ),
    "check_errors": Sentence(
        ngettext_lazy(
            "The check found %(errors)d error on your volume. Contact %(contact)s.",
            "The check found %(errors)d errors on your volume. Contact %(contact)s.",
            "errors",
        ),
        ngettext_lazy(
            "The check found %(errors)d error on the volume of %(owner)s. Contact %(contact)s.",
            "The check found %(errors)d errors on the volume of %(owner)s. Contact %(contact)s.",
            "errors",
        ),
    ),
}


def result(code: str, **parameters) -> Result:
    """The facts of an outcome; refused at once for a code that has no sentence."""
    if code not in SENTENCES:
        raise LookupError(f"no sentence for result code {code!r}")
    return Result(code=code, **parameters)


def _told(name: str, value, *, owner_name: str, reader_name: str | None):
    """A parameter as the sentence shows it, in the current language."""
    from .models import Operation  # models.py imports this module

    if name == "then" and isinstance(value, dict):
        return render(value, owner_name=owner_name, reader_name=reader_name)
    if name == "kind":
        return Operation.Kind(value).label if value in Operation.Kind.values else value
    if name == "state":
        return Operation.State(value).label.lower() if value in Operation.State.values else value
    if name == "date" and isinstance(value, str):
        try:
            return absolute_time(datetime.fromisoformat(value))
        except ValueError:
            return value
    if name in ("snapshot", "kept_as") and isinstance(value, str):
        # A snapshot is told by when it was taken, in the reader's zone,
        # never by its @GMT name (that is for Windows' Previous Versions).
        try:
            taken = datetime.strptime(value, SNAPSHOT_NAME).replace(tzinfo=UTC)
        except ValueError:
            return value
        return absolute_time(taken)
    if name == "names" and isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return value


def render(facts: dict, *, owner_name: str, reader_name: str | None = None) -> str:
    """The sentence of ``facts`` in the active language: said to the owner
    when ``reader_name`` is theirs (or None), else naming them."""
    sentence = SENTENCES.get(facts.get("code", ""))
    if sentence is None:  # a code since removed: say nothing wrong
        return ""
    own = reader_name is None or reader_name == owner_name
    text = sentence.own if own or sentence.other is None else sentence.other
    values = {
        name: _told(name, value, owner_name=owner_name, reader_name=reader_name)
        for name, value in facts.items()
        if name != "code"
    }
    values.setdefault("contact", settings.SUPPORT_CONTACT)
    values["owner"] = owner_name
    values = {
        name: str(value) if isinstance(value, Promise) else value for name, value in values.items()
    }
    try:
        return str(text % values)
    except (KeyError, TypeError, ValueError):
        # Facts stored before their sentence changed: a page must still open.
        logger.warning("result %r no longer fits its sentence", facts)
        return ""


def stored_text(facts: dict, *, owner_name: str) -> str:
    """The copy kept in Operation.message for the log and the audit export:
    in the site's language, as told to the owner."""
    with translation.override(settings.LANGUAGE_CODE):
        return render(facts, owner_name=owner_name)
