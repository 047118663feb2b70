"""The owner's actions on "Your backups": check now, and the stale threshold.
Both answer with a message on the dashboard."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from backup.sso.decorators import signed_in_required
from backup.volumes.services import volume_of

from . import services
from .models import MAX_STALE_DAYS, MIN_STALE_DAYS


class ThresholdForm(forms.Form):
    stale_after_days = forms.IntegerField(min_value=MIN_STALE_DAYS, max_value=MAX_STALE_DAYS)


def _back_to_dashboard():
    return redirect(reverse("volumes:home") + "#your-backups")


@require_POST
@signed_in_required
def check_now(request):
    volume = volume_of(request.user)
    if volume is None:
        return redirect("volumes:home")
    try:
        scan = services.check_now(volume)
    except services.CheckRefused as refusal:
        messages.warning(request, refusal.message)
    else:
        found = "." if scan.source_count else ": there are no backups on it yet."
        messages.success(request, f"Your volume was checked just now{found}")
    return _back_to_dashboard()


@require_POST
@signed_in_required
def set_threshold(request):
    form = ThresholdForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            f"Enter a whole number of days from {MIN_STALE_DAYS} to {MAX_STALE_DAYS}; "
            "your setting was not changed.",
        )
        return _back_to_dashboard()
    days = form.cleaned_data["stale_after_days"]
    services.set_stale_after_days(request.user, days)
    messages.success(
        request,
        f"A computer now counts as stale after {days} day{'' if days == 1 else 's'} "
        "without a backup.",
    )
    return _back_to_dashboard()
