"""Signing people in from the web server, and the demo's stand-in for it."""

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.middleware import LoginRequiredMiddleware, RemoteUserMiddleware
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.shortcuts import render

from . import names

DEV_SSO_SESSION_KEY = "dev_sso_user"


class ServerRemoteUserMiddleware(RemoteUserMiddleware):
    """Trusts REMOTE_USER from the server environment (WSGI/FastCGI) only.

    An HTTP header such as ``Remote-User`` arrives as HTTP_REMOTE_USER and is
    never read. Sync only: Django's async variant reads the HTTP_ header.
    """

    header = "REMOTE_USER"
    async_capable = False  # type: ignore[assignment]

    def __call__(self, request):
        remote_user = request.META.get(self.header)
        if remote_user:
            try:
                names.account_name(remote_user)
            except names.UnacceptableName as refusal:
                # The server vouches for nobody we know: whoever this session
                # signed in before is not this person.
                if request.user.is_authenticated:
                    auth.logout(request)
                return render(
                    request,
                    "sso/unsupported_name.html",
                    {"remote_user": remote_user, "reason": refusal.message},
                    status=refusal.status,
                )
        return super().__call__(request)


class DevelopmentSSOMiddleware:
    """Demo only: plays the web server's part, signing in the demo employee
    (or, after a click, the demo admin). Refuses to exist when DEBUG is off."""

    def __init__(self, get_response):
        if not settings.DEV_SSO:
            raise MiddlewareNotUsed
        if not settings.DEBUG:
            raise ImproperlyConfigured("DEV_SSO is a development stand-in and needs DEBUG on")
        self.get_response = get_response

    def __call__(self, request):
        default = settings.DEV_SSO_USERS["employee"]
        request.META["REMOTE_USER"] = request.session.get(DEV_SSO_SESSION_KEY, default)
        return self.get_response(request)


class SignInRequired(LoginRequiredMiddleware):
    """Every view needs a signed-in person unless it is marked with Django's
    ``login_not_required``: a new view is closed by default (it was open
    unless someone remembered a decorator). Without a sign-in the answer is
    the portal's 401 page, not a redirect to a login form the portal does
    not have (single sign-on is the web server's)."""

    def handle_no_permission(self, request, view_func):
        return render(request, "pages/signed_out.html", status=401)
