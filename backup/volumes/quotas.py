"""Changing how large a person's volume may grow: every change is in the
audit log (who, old, new), and a quota below the volume's size is refused
(volumes never shrink, so it could never be met)."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backup.core.errors import UserFacingError
from backup.operations import records, results
from backup.operations.models import Operation

from .models import Quota, Volume, quota_for


def refusal(user, max_size_gib: int) -> str | None:
    """Why ``max_size_gib`` can't be the person's quota, or None."""
    volume = Volume.objects.filter(owner=user).first()
    if volume is not None and max_size_gib < volume.size_gib:
        return _(
            "%(user)s's volume already has %(size)d GiB, and volumes never shrink, so a "
            "quota of %(quota)d GiB could never be met. Set at least %(size)d GiB."
        ) % {"user": user.username, "size": volume.size_gib, "quota": max_size_gib}
    return None


def _record(user, actor, old: int, new: int) -> Operation:
    now = timezone.now()
    return Operation.objects.create(
        kind=Operation.Kind.SET_QUOTA,
        state=Operation.State.SUCCEEDED,
        owner=user,
        owner_name=user.username,
        actor=actor,
        actor_name=actor.username,
        parameters={"old_gib": old, "new_gib": new},
        started_at=now,
        finished_at=now,
        **records.outcome_fields(user.username, results.result("quota_changed", old=old, new=new)),
    )


def set_quota(user, max_size_gib: int | None, actor) -> Operation:
    """Set the quota (None: back to DEFAULT_QUOTA) and record who changed
    it from what to what."""
    with transaction.atomic():
        old = quota_for(user)
        new = settings.DEFAULT_QUOTA if max_size_gib is None else max_size_gib
        reason = refusal(user, new)
        if reason:
            raise UserFacingError(reason)
        if max_size_gib is None:
            Quota.objects.filter(user=user).delete()
        else:
            Quota.objects.update_or_create(user=user, defaults={"max_size_gib": max_size_gib})
        return _record(user, actor, old, new)
