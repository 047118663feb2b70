"""Every view needs a sign-in unless it is one of the few deliberately open.

SignInRequired (Django's LoginRequiredMiddleware) closes every view by
default; the open ones are marked login_not_required. This walks the whole
URLconf, so a new view is covered the day it is added: it answers 401 to
someone not signed in, or it is on the list below, on purpose.
"""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

# (module, view) open without a sign-in, and why.
OPEN = {
    ("backup.pages.views", "ping"),  # monitoring: answers "pong", touches nothing
    ("backup.pages.views", "signed_out"),  # the page saying so
    ("backup.pages.views", "set_language"),  # the footer's switch, a cookie
    ("backup.metrics.views", "metrics"),  # its own token or address (metrics.access)
    ("backup.checkins.ping", "ping"),  # the check-in token is the credential
}


def portal_routes(patterns=None, prefix=""):
    """(route, view) of every portal URL pattern (Django's admin, which has
    its own sign-in, left out)."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            if str(pattern.pattern) != "admin/":
                yield from portal_routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def concrete(route):
    """The route with every parameter filled (any value: the answer comes
    before the view looks at it)."""
    # re_path routes: their groups by name (a snapshot's name is the one).
    path = re.sub(r"\(\?P<snapshot>[^)]*\)", "@GMT-2026.01.02-03.04.05", route)
    path = re.sub(r"<int:\w+>", "1", path)
    path = re.sub(r"<(?:\w+:)?\w+>", "x", path)
    return "/" + path.removeprefix("^").removesuffix("$")


def open_views():
    return {
        (view.__module__, view.__name__)
        for _route, view in portal_routes()
        if getattr(view, "login_required", True) is False
    }


def test_only_the_listed_views_are_open():
    assert open_views() == OPEN


@pytest.mark.django_db
def test_every_other_view_answers_401_to_someone_not_signed_in():
    client = Client()
    checked = 0
    for route, view in portal_routes():
        if (view.__module__, view.__name__) in OPEN:
            continue
        for method in ("get", "post"):
            response = getattr(client, method)(concrete(route))
            assert response.status_code == 401, f"{method.upper()} {route}: {response.status_code}"
            assert "sessionid" not in response.cookies
        checked += 1
    assert checked > 40, checked


@pytest.mark.django_db
def test_a_signed_in_person_gets_past_it(django_user_model):
    django_user_model.objects.create(username="signinprobe")
    response = Client(REMOTE_USER="signinprobe").get("/")
    assert response.status_code == 200
