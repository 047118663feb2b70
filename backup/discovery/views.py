"""The owner's actions on "Your backups": check now, and the stale threshold.
Both answer on the dashboard."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from backup.volumes.models import volume_of

from . import deletion, scans, thresholds
from .models import MAX_STALE_DAYS, MIN_STALE_DAYS


class ThresholdForm(forms.Form):
    stale_after_days = forms.IntegerField(min_value=MIN_STALE_DAYS, max_value=MAX_STALE_DAYS)


class DeleteSourceForm(forms.Form):
    """Which source (as the scan reported it) and the typed confirmation."""

    format = forms.CharField(max_length=40)
    path = forms.CharField(max_length=300, strip=False)
    confirmation = forms.CharField(max_length=400, required=False)


def _back_to_dashboard():
    return redirect(reverse("dashboard:home") + "#your-backups")


@require_POST
def check_now(request):
    volume = volume_of(request.user)
    if volume is None:
        return redirect("dashboard:home")
    try:
        scans.request_check(volume, request.user)
    except scans.CheckRefused as refusal:
        # Not left to the refusal middleware: a check refused (one already
        # running, checked too recently) is a warning, not an error.
        messages.warning(request, refusal.message)
    else:
        messages.info(
            request,
            _("Your volume is being checked for backups; the list updates when it is done."),
        )
    return _back_to_dashboard()


@require_POST
def set_threshold(request):
    form = ThresholdForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            _("Enter a whole number of days from %(min)d to %(max)d; your setting was not changed.")
            % {"min": MIN_STALE_DAYS, "max": MAX_STALE_DAYS},
        )
        return _back_to_dashboard()
    days = form.cleaned_data["stale_after_days"]
    thresholds.set_stale_after_days(request.user, days)
    messages.success(
        request,
        ngettext(
            "A computer now counts as stale after %(days)d day without a backup.",
            "A computer now counts as stale after %(days)d days without a backup.",
            days,
        )
        % {"days": days},
    )
    return _back_to_dashboard()


def delete_source(request):
    """Delete one computer's backups: a page naming it, a typed confirmation."""
    volume = volume_of(request.user)
    if volume is None:
        return redirect("dashboard:home")
    form = DeleteSourceForm(request.POST if request.method == "POST" else request.GET)
    machine = None
    if form.is_valid():
        data = form.cleaned_data
        machine = deletion.source_of(volume, data["format"], data["path"])
    if machine is None or not machine.deletable:
        messages.error(
            request,
            _(
                "That backup is not among those last found on your volume, so nothing was "
                "deleted. Press Check now, then choose it again."
            ),
        )
        return _back_to_dashboard()
    context = {"volume": volume, "machine": machine}
    if request.method == "POST":
        try:
            operation = deletion.request_delete(
                request.user,
                request.user,
                data["format"],
                data["path"],
                data["confirmation"],
            )
        except deletion.DeleteRefused as refusal:
            # Not left to the refusal middleware: the form is shown again
            # with the sentence beside the typed confirmation.
            context["error"] = refusal.message
            return render(request, "discovery/delete_source.html", context, status=400)
        return redirect("operations:detail", operation.pk)
    return render(request, "discovery/delete_source.html", context)
