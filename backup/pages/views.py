"""Pages every part of the site shares: monitoring ping, errors, signed out,
the language switch, the time zone setting."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from . import languages, zones


@login_not_required
def ping(request):
    """For monitoring: the application answers (no database, no privileges)."""
    return HttpResponse("pong", content_type="text/plain")


@login_not_required
@require_POST
def set_language(request):
    """The footer's language switch: Django's set_language (a cookie, back to
    the page it was sent from), and the choice remembered for emails."""
    response = django_set_language(request)
    languages.remember(request, request.POST.get("language"))
    return response


def time_zone(request):
    """The person's time zone: a list to pick from, the current one
    selected; time-zone.js preselects the browser's and says so."""
    current = zones.zone_for_request(request)
    back = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("dashboard:home")
    if request.method == "POST":
        chosen = request.POST.get("zone")
        if zones.choose(request, chosen):
            timezone.activate(chosen)
            messages.success(request, _("Times are now shown in %(zone)s.") % {"zone": chosen})
            return redirect(back)
        return render(
            request,
            "pages/time_zone.html",
            {
                "zones": zones.choices(),
                "current": current,
                "back": back,
                "error": _("That is not a time zone this server knows. Nothing was changed."),
            },
            status=400,
        )
    return render(
        request,
        "pages/time_zone.html",
        {"zones": zones.choices(), "current": current, "back": back},
    )


@login_not_required
def signed_out(request):
    return render(request, "pages/signed_out.html", status=401)


def forbidden(request, exception=None):
    return render(request, "pages/error.html", {"status": 403}, status=403)


def not_found(request, exception=None):
    return render(request, "pages/error.html", {"status": 404}, status=404)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: the form was stale or came from elsewhere (two
    tabs, the user switched in one). Nothing was done; offer the way back."""
    back = request.META.get("HTTP_REFERER", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("dashboard:home")
    return render(request, "pages/csrf_failure.html", {"back": back}, status=403)


def server_error(request):
    # No context processors or request: they may be what failed.
    return HttpResponse(loader.render_to_string("pages/500.html"), status=500)
