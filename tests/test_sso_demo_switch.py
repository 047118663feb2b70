"""The demo's sign-in switch (the SSO stand-in's yellow bar)."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore

from backup.sso import views
from backup.sso.middleware import DEV_SSO_SESSION_KEY


@pytest.mark.django_db
def test_the_demo_switch_lands_each_role_where_it_starts(rf, settings):
    """Switching to the demo admin opens the admin overview, not the
    employee's dashboard; switching back opens the dashboard."""
    settings.DEV_SSO_USERS = {"employee": "demoemployee", "admin": "demoadmin"}
    for role, name, landing in (
        ("admin", "demoadmin", "/staff/"),
        ("employee", "demoemployee", "/"),
    ):
        request = rf.post("/dev-sso/switch/", {"role": role})
        request.session = SessionStore()
        request.user = AnonymousUser()
        response = views.switch_user(request)
        assert response.status_code == 302
        assert response["Location"] == landing
        assert request.session[DEV_SSO_SESSION_KEY] == name
