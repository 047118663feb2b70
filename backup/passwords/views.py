"""New backup password: asked for with a POST, shown once, never cached."""

from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables

from backup.operations.errors import UserFacingError
from backup.sso.decorators import signed_in_required
from backup.volumes.services import volume_of

from . import services


@never_cache
@signed_in_required
@sensitive_variables("password")
def new_password(request):
    volume = volume_of(request.user)
    if volume is None:
        return redirect("volumes:home")
    if request.method != "POST":
        return render(request, "passwords/new_password.html", {"volume": volume})
    first = volume.password_changed_at is None
    try:
        password = services.set_new_password(volume, request.user)
    except UserFacingError as refusal:
        return render(
            request,
            "passwords/new_password.html",
            {"volume": volume, "error": refusal.message},
            status=refusal.status,
        )
    return render(
        request,
        "passwords/password_shown.html",
        {"volume": volume, "password": password, "first": first},
    )
