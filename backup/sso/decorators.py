"""Access rules for views: signed in through SSO; staff for admin pages."""

import functools

from django.core.exceptions import PermissionDenied
from django.shortcuts import render


def signed_in_required(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return render(request, "pages/signed_out.html", status=401)
        return view(request, *args, **kwargs)

    return wrapper


def staff_required(view):
    @functools.wraps(view)
    @signed_in_required
    def wrapper(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied("Only administrators can see this page.")
        return view(request, *args, **kwargs)

    return wrapper
