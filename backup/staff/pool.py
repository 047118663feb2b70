"""The backup pool as admins see it: its sizes, and what they mean in
sentences an admin acts on (how overcommitted it is, what happens if every
volume fills up)."""

from dataclasses import dataclass

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from backup.core.sizes import binary_size


@dataclass
class Pool:
    backend: str
    name: str
    size_bytes: int
    allocated_bytes: int
    used_bytes: int
    free_bytes: int
    volume_count: int

    @property
    def allocated_percent(self) -> int:
        return round(100 * self.allocated_bytes / self.size_bytes) if self.size_bytes else 0

    @property
    def used_percent(self) -> int:
        return round(100 * self.used_bytes / self.size_bytes) if self.size_bytes else 0

    @property
    def overcommit(self) -> float | None:
        """Allocated space per byte actually used (None when nothing is used)."""
        return self.allocated_bytes / self.used_bytes if self.used_bytes else None

    def overcommit_sentence(self) -> str:
        """The overcommit as an admin reads it at a glance."""
        shares = {
            "allocated": _share(self.allocated_bytes, self.size_bytes),
            "used": _share(self.used_bytes, self.size_bytes),
        }
        if not self.allocated_bytes:
            return _("No space is given to volumes yet.")
        if not self.used_bytes:
            return (
                _(
                    "Nothing is written yet: volumes are given %(allocated)s of the pool "
                    "and use none of it."
                )
                % shares
            )
        ratio = self.overcommit
        if ratio is None or ratio < 1.05:
            return (
                _(
                    "Volumes use about all the space they are given (%(allocated)s of the "
                    "pool is given to volumes, %(used)s is used)."
                )
                % shares
            )
        times = number_format(round(ratio), 0) if ratio >= 10 else number_format(ratio, 1)
        promised = _(
            "Volumes are promised %(times)s times the space they use (%(allocated)s of "
            "the pool is given to volumes, %(used)s is used)."
        ) % {"times": times, **shares}
        return f"{promised} {self.if_all_filled_up()}"

    def if_all_filled_up(self) -> str:
        """What happens if every volume fills up, in words an admin acts on."""
        sizes = {
            "allocated": binary_size(self.allocated_bytes),
            "size": binary_size(self.size_bytes),
            "missing": binary_size(max(0, self.allocated_bytes - self.size_bytes)),
            "free": binary_size(self.free_bytes),
        }
        if self.allocated_bytes <= self.size_bytes:
            return (
                _(
                    "If every volume filled up, they would still fit: they need "
                    "%(allocated)s and the pool holds %(size)s."
                )
                % sizes
            )
        return (
            _(
                "If every volume filled up, they would need %(allocated)s, %(missing)s more "
                "than the pool's %(size)s: writes start failing once another %(free)s is "
                "written, so add disk before the pool's use gets there."
            )
            % sizes
        )

    def figures(self) -> dict[str, str]:
        """The pool's sizes as the page shows them (GiB, like volume sizes)."""
        return {
            "size": binary_size(self.size_bytes),
            "allocated": binary_size(self.allocated_bytes),
            "used": binary_size(self.used_bytes),
            "free": binary_size(self.free_bytes),
        }


def _share(part: int, whole: int) -> str:
    """A percentage, with a decimal when it is small: 1.2 %, 92 %."""
    if not whole:
        return "0\u00a0%"
    percent = 100 * part / whole
    digits = 1 if percent < 10 else 0
    return f"{number_format(round(percent, digits), digits)}\u00a0%"
