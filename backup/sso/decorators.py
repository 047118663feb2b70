"""Access rules for views.

Signing in is required everywhere by default: SignInRequired (Django's
LoginRequiredMiddleware, backup.sso.middleware) stops a request that is not
signed in before any view runs, so a new view is closed unless it says
otherwise with Django's ``login_not_required`` (the monitoring ping, the
check-ins, /metrics with its own token, the language switch). Admin pages
add ``staff_required``.
"""

import functools

from django.core.exceptions import PermissionDenied


def staff_required(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        # Signed in is already certain here (SignInRequired); this is the
        # admin rule on top, checked again rather than assumed.
        if not (request.user.is_authenticated and request.user.is_staff):
            raise PermissionDenied("Only administrators can see this page.")
        return view(request, *args, **kwargs)

    return wrapper
