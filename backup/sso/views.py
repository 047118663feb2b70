"""The demo's user switch (only routed when DEV_SSO is on)."""

from django.conf import settings
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from .middleware import DEV_SSO_SESSION_KEY


@require_POST
def switch_user(request):
    role = request.POST.get("role", "employee")
    name = settings.DEV_SSO_USERS.get(role, settings.DEV_SSO_USERS["employee"])
    logout(request)
    request.session[DEV_SSO_SESSION_KEY] = name
    # Each lands where that person starts their day: the admin on the overview.
    return redirect("staff:overview" if role == "admin" else "dashboard:home")
