"""The employee's check-in pages: make an address (shown once, with the
setup help filled in), give a computer a new address, remove one, and the
setup help itself. The dashboard lists them (dashboard.py)."""

import time

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from . import services, setup
from .forms import CheckInForm
from .models import CheckIn

# The session key holding a new token until the page after the redirect
# shows it (as passwords.views does with a new password).
PENDING = "checkin_token_pending"
PENDING_SECONDS = 300
PLACEHOLDER = "YOUR-CHECK-IN-TOKEN"


def _remember(request, checkin: CheckIn, token: str):
    request.session[PENDING] = {"pk": checkin.pk, "token": token, "made": time.time()}
    return redirect("checkins:shown")


@require_POST
@sensitive_variables("made")
def create(request):
    form = CheckInForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(
            str(error) for error_list in form.errors.values() for error in error_list
        )
        messages.error(request, _("The check-in address was not made: %(why)s") % {"why": errors})
        return redirect(f"{reverse('dashboard:home')}#computers")
    try:
        made = services.create(
            request.user, form.cleaned_data["name"], form.cleaned_data["period_hours"]
        )
    except services.TooMany:
        messages.error(
            request,
            _(
                "You have %(count)s check-in addresses, the most one person may have: "
                "remove one first."
            )
            % {"count": services.MAX_PER_PERSON},
        )
        return redirect(f"{reverse('dashboard:home')}#computers")
    return _remember(request, made.checkin, made.token)


@require_POST
@sensitive_variables("token")
def new_address(request, pk):
    checkin = get_object_or_404(CheckIn, pk=pk, owner=request.user)
    token = services.new_token(checkin)
    return _remember(request, checkin, token)


@require_POST
def remove(request, pk):
    checkin = get_object_or_404(CheckIn, pk=pk, owner=request.user)
    name = checkin.name
    services.revoke(checkin)
    messages.success(
        request,
        _("The check-in address of “%(name)s” was removed; it no longer accepts check-ins.")
        % {"name": name},
    )
    return redirect(f"{reverse('dashboard:home')}#computers")


@never_cache
@require_GET
@sensitive_variables("pending", "token")
def shown(request):
    """The new address, once: a reload shows it no more."""
    pending = request.session.pop(PENDING, None)
    if pending is None or time.time() - pending.get("made", 0) >= PENDING_SECONDS:
        return render(request, "checkins/shown.html", {"already_shown": True})
    checkin = CheckIn.objects.filter(pk=pending.get("pk"), owner=request.user).first()
    if checkin is None:
        raise Http404("No such check-in.")
    token = pending["token"]
    url = request.build_absolute_uri(reverse("checkins:ping", args=[token]))
    return render(
        request,
        "checkins/shown.html",
        {"checkin": checkin, "url": url, **_setup_context(url)},
    )


@require_GET
def setup_help(request):
    """How each backup tool checks in, with a placeholder for the token."""
    url = request.build_absolute_uri(reverse("checkins:ping", args=[PLACEHOLDER]))
    return render(
        request,
        "checkins/setup.html",
        {"url": url, "placeholder_token": PLACEHOLDER, **_setup_context(url)},
    )


def _setup_context(url: str) -> dict:
    limit = settings.CHECKIN_LOG_MAX_BYTES
    return {"log_limit": limit, "setup": setup.snippets(url, limit)}
