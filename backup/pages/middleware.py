"""Refusals the site expects, answered with its own pages."""

from django.shortcuts import render
from django.utils import timezone

from . import zones
from .languages import remember


class MethodNotAllowedPage:
    """GET on a POST-only address (a bookmarked or reloaded action) gets a
    page saying what to do instead of an empty 405."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 405 or response.content:
            return response
        page = render(request, "pages/error.html", {"status": 405}, status=405)
        if response.has_header("Allow"):
            page["Allow"] = response["Allow"]
        return page


class RememberLanguage:
    """A signed-in person's language (LocaleMiddleware's choice: the footer's
    switch, else the browser's) is stored for the emails they get."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        remember(request, getattr(request, "LANGUAGE_CODE", None))
        return self.get_response(request)


class ActivateTimeZone:
    """Pages show times in the signed-in person's zone (backup.pages.zones),
    else in the site's TIME_ZONE."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timezone.activate(zones.zone_for_request(request))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
