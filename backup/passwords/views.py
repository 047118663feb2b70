"""New backup password: made by a POST, then shown once by a GET.

Post/redirect/get: the POST sets the password and keeps it in the person's
server-side session only until the page after the redirect shows it, which
removes it. Reloading that page shows no password and changes none: it says
the password was already shown and offers making a new one. Nothing here is
cached (never_cache: no-store).
"""

import time

from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET

from backup.core.errors import UserFacingError
from backup.volumes.models import volume_of

from . import services

# The session keys: the password waiting to be shown (with its account, when
# it was made and whether it was the first), and the account whose password
# was shown.
PENDING = "backup_password_pending"
SHOWN = "backup_password_shown"

# A password not shown within this time (the redirect not followed) is
# dropped from the session rather than kept there.
PENDING_SECONDS = 300


@never_cache
@sensitive_variables("password")
def new_password(request):
    volume = volume_of(request.user)
    if volume is None:
        return redirect("dashboard:home")
    if request.method != "POST":
        return render(request, "passwords/new_password.html", {"volume": volume})
    first = volume.password_changed_at is None
    try:
        password = services.set_new_password(volume, request.user)
    except UserFacingError as refusal:
        # Not left to the refusal middleware: the page is shown again with
        # the sentence and its status (502 when the server failed).
        return render(
            request,
            "passwords/new_password.html",
            {"volume": volume, "error": refusal.message},
            status=refusal.status,
        )
    request.session[PENDING] = {
        "account": volume.account,
        "password": password,
        "made": time.time(),
        "first": first,
    }
    request.session.pop(SHOWN, None)
    return redirect("passwords:shown")


@never_cache
@require_GET
@sensitive_variables("pending", "password")
def shown(request):
    volume = volume_of(request.user)
    if volume is None:
        request.session.pop(PENDING, None)
        return redirect("dashboard:home")
    pending = request.session.pop(PENDING, None)
    if (
        pending is not None
        and pending.get("account") == volume.account
        and time.time() - pending.get("made", 0) < PENDING_SECONDS
    ):
        request.session[SHOWN] = volume.account
        return render(
            request,
            "passwords/password_shown.html",
            {"volume": volume, "password": pending["password"], "first": pending["first"]},
        )
    if request.session.get(SHOWN) == volume.account:
        return render(request, "passwords/already_shown.html", {"volume": volume})
    return redirect("passwords:new")
