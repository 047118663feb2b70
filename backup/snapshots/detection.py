"""Mass-change detection: did what existed on a volume get destroyed?

The rules, all here, on typed figures (the wrapper's measure, made safe in
``Change.from_report``) and typed verdicts:

- Only destruction counts: data that existed at the base snapshot and was
  overwritten, truncated or deleted. New files destroy nothing, so a first
  backup, a second computer's first backup or a refill after a clean-up is
  never an alarm, whatever the thresholds (a verdict needs at least one
  destroyed file and one destroyed byte).
- An alarm: at least MASS_CHANGE_MIN_FILES files and MASS_CHANGE_MIN_BYTES
  destroyed, and that is at least MASS_CHANGE_SHARE of what the base held,
  between two snapshots or over the rolling window (the wrapper measures the
  last 24 h as one more change, so slow encryption adds up and a file
  rewritten every hour still counts once).
- Evidence: files renamed to one new extension, or a small file of one name
  created in many folders (ransom notes), lowers the share needed to
  MASS_CHANGE_EVIDENCE_SHARE and makes the verdict "encryption".
- Wording: "deletion" when deleting is most of the destruction and there is
  no evidence, else "encryption".
"""

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from backup.core.sizes import binary_size
from backup.privileged.results import CHANGE_COUNTS

# The counts of a change, as the wrappers' measure reports them (one list,
# the typed contract's).
COUNTS = CHANGE_COUNTS
DELETION, ENCRYPTION = "deletion", "encryption"
INTERVAL, WINDOW = "interval", "window"
# The longest snapshot name (the wrapper's: @GMT-YYYY.MM.DD-HH.MM.SS).
MAX_NAME_CHARS = 40


@dataclass(frozen=True)
class Change:
    """What changed from snapshot ``base`` to a newer one, among what
    existed at ``base`` (which held ``held_bytes``, None if unknown)."""

    base: str
    held_bytes: int | None
    complete: bool = True
    new_files: int = 0
    new_bytes: int = 0
    overwritten_files: int = 0
    overwritten_bytes: int = 0
    truncated_files: int = 0
    truncated_bytes: int = 0
    deleted_files: int = 0
    deleted_bytes: int = 0
    renamed_files: int = 0
    renamed_to_one_extension: int = 0
    note_folders: int = 0

    @classmethod
    def from_report(cls, raw: Mapping[str, Any] | None) -> "Change | None":
        """From the wrapper's result, parsed and checked by the privileged
        client (results.change), or from what as_json stored of one; None
        for none. A count stored before it was measured reads as 0."""
        if raw is None:
            return None
        return cls(
            base=raw["base"][:MAX_NAME_CHARS],
            held_bytes=raw.get("held_bytes"),
            complete=raw.get("complete") is not False,
            **{key: raw.get(key, 0) for key in COUNTS},
        )

    def as_json(self) -> dict:
        return asdict(self)

    @property
    def destroyed_bytes(self) -> int:
        return self.overwritten_bytes + self.truncated_bytes + self.deleted_bytes

    @property
    def destroyed_files(self) -> int:
        return self.overwritten_files + self.truncated_files + self.deleted_files


@dataclass(frozen=True)
class Thresholds:
    min_bytes: int
    min_files: int
    share: float
    evidence_share: float
    note_folders: int

    @classmethod
    def from_settings(cls) -> "Thresholds":
        return cls(
            min_bytes=settings.MASS_CHANGE_MIN_BYTES,
            min_files=settings.MASS_CHANGE_MIN_FILES,
            share=settings.MASS_CHANGE_SHARE,
            evidence_share=settings.MASS_CHANGE_EVIDENCE_SHARE,
            note_folders=settings.MASS_CHANGE_NOTE_FOLDERS,
        )


@dataclass(frozen=True)
class Verdict:
    """A mass change: what was destroyed, and how to word it."""

    kind: str  # DELETION or ENCRYPTION
    scope: str  # INTERVAL (since the snapshot before) or WINDOW (24 h)
    base: str
    destroyed_bytes: int
    destroyed_files: int
    deleted_files: int
    held_bytes: int
    share: int  # percent of held_bytes
    renamed_to_one_extension: int
    note_folders: int

    def facts(self) -> dict:
        """What MassChange.facts stores and describe() reads."""
        return {"rule": self.kind, **asdict(self)}


def judge(change: Change | None, scope: str, thresholds: Thresholds) -> Verdict | None:
    """The verdict on one measured change; None: not a mass change."""
    if change is None:
        return None
    destroyed, files = change.destroyed_bytes, change.destroyed_files
    # Nothing that existed was touched: never an alarm, at any threshold.
    if destroyed <= 0 or files <= 0:
        return None
    if destroyed < thresholds.min_bytes or files < thresholds.min_files:
        return None
    evidence = change.renamed_to_one_extension >= max(1, thresholds.min_files) or (
        change.note_folders >= max(1, thresholds.note_folders)
    )
    held = change.held_bytes
    if not held:
        # Unknown (no quota groups): the share can't be judged; evidence can.
        if not evidence:
            return None
        held = destroyed
    needed = thresholds.evidence_share if evidence else thresholds.share
    if destroyed < needed * held:
        return None
    deleting = change.deleted_bytes >= change.overwritten_bytes + change.truncated_bytes
    return Verdict(
        kind=DELETION if deleting and not evidence else ENCRYPTION,
        scope=scope,
        base=change.base,
        destroyed_bytes=destroyed,
        destroyed_files=files,
        deleted_files=change.deleted_files,
        held_bytes=held,
        share=min(100, round(100 * destroyed / held)),
        renamed_to_one_extension=change.renamed_to_one_extension,
        note_folders=change.note_folders,
    )


def assess(
    interval: Change | None, window: Change | None, thresholds: Thresholds
) -> Verdict | None:
    """The verdict on a new snapshot: its own interval first, then the
    rolling window (slow destruction)."""
    return judge(interval, INTERVAL, thresholds) or judge(window, WINDOW, thresholds)


def began_with(destroyed_files_per_interval: list[int]) -> int:
    """How many of the newest intervals (newest first in the list) belong to
    a slow destruction: the run of consecutive intervals that each destroyed
    more than one file (one file rewritten every hour, a mailbox or a disk
    image, is not part of it)."""
    count = 0
    for destroyed in destroyed_files_per_interval:
        if destroyed < 2:
            break
        count += 1
    return count


def headline(facts: dict) -> str:
    """The warning's first sentence, in the active language."""
    if facts.get("rule") == DELETION:
        return _("Many of your files were deleted at once.")
    if facts.get("rule") == ENCRYPTION:
        return _("Many of your files were overwritten or renamed at once.")
    return _("Much of your volume changed at once.")


def describe(facts: dict) -> str:
    """A mass change's figures in words, in the active language (the reader's:
    the page's, or the email recipient's)."""
    rule = facts.get("rule")
    if rule in (DELETION, ENCRYPTION):
        figures = {
            "files": facts.get("destroyed_files", 0),
            "deleted": facts.get("deleted_files", 0),
            "size": binary_size(facts.get("destroyed_bytes", 0)),
            "share": facts.get("share", 0),
            "held": binary_size(facts.get("held_bytes", 0)),
        }
        if rule == DELETION:
            text = _(
                "%(deleted)d files deleted: %(size)s, %(share)d%% of the %(held)s the volume held"
            )
        else:
            text = _(
                "%(files)d files overwritten, truncated or deleted: %(size)s, %(share)d%% of the "
                "%(held)s the volume held"
            )
        text %= figures
        if facts.get("scope") == WINDOW:
            text = _("%(what)s, over the last 24 hours") % {"what": text}
        if facts.get("renamed_to_one_extension", 0) >= settings.MASS_CHANGE_MIN_FILES:
            text = _("%(what)s; %(renamed)d files renamed to one new extension") % {
                "what": text,
                "renamed": facts["renamed_to_one_extension"],
            }
        if facts.get("note_folders", 0) >= settings.MASS_CHANGE_NOTE_FOLDERS:
            text = _("%(what)s; the same new file appeared in %(folders)d folders") % {
                "what": text,
                "folders": facts["note_folders"],
            }
        return text
    # Records made by the earlier rules (data written, not destroyed).
    if rule == "share":
        return _("%(changed)s changed, %(share)d%% of the %(held)s the volume held") % {
            "changed": binary_size(facts["changed"]),
            "share": facts["share"],
            "held": binary_size(facts["held"]),
        }
    return _("%(changed)s changed, %(times)d times the usual %(usual)s") % {
        "changed": binary_size(facts.get("changed", 0)),
        "times": facts.get("times", 0),
        "usual": binary_size(facts.get("usual", 0)),
    }
