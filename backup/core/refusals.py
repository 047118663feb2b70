"""How a refusal reaches the person: once, here, as Zulip renders its
JsonableError, instead of a try/except UserFacingError in every view.

A view raises (or lets through) the UserFacingError its service raised. If
the view is marked with ``refused_back_to``, the person lands on the page it
names with the sentence as an error message, which is what the actions'
buttons did by hand before; the target is a URL name of this site, reversed
here, so it can never send anyone elsewhere. A view not marked gets a page
saying the sentence, with the refusal's status (400, or 409 while another
operation runs), rather than a server error.

Pages that show the refusal beside the form it came from (typed
confirmations, the password page) still catch it themselves: they keep what
was typed and answer with the form, which a redirect would lose.
"""

from collections.abc import Callable
from typing import TypeVar

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from .errors import UserFacingError

View = TypeVar("View", bound=Callable[..., HttpResponse])

# The attribute the mark sets on the view (functools.wraps, as Django's view
# decorators use, copies it to the decorators around it).
TARGET = "refused_back_to"


def refused_back_to(url_name: str, *url_kwargs: str) -> Callable[[View], View]:
    """Mark a view: a UserFacingError from it is an error message and a
    redirect to ``url_name``, reversed with the view's own URL arguments
    named in ``url_kwargs`` (e.g. the person's page for "username")."""

    def mark(view: View) -> View:
        setattr(view, TARGET, (url_name, url_kwargs))
        return view

    return mark


class RefusalMiddleware:
    """Renders a UserFacingError that a view raised; any other exception
    goes on to Django's handling (the 500 page and the logged traceback)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, UserFacingError):
            return None
        match = request.resolver_match
        target = getattr(match.func, TARGET, None) if match else None
        if match is None or target is None:
            return render(
                request,
                "core/refused.html",
                {"message": exception.message},
                status=exception.status,
            )
        url_name, url_kwargs = target
        messages.error(request, exception.message)
        return redirect(url_name, **{name: match.kwargs[name] for name in url_kwargs})
