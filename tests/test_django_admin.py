"""Django's admin under single sign-on: no "Change password" (the portal
keeps no password) and no "Log out" (the web server signs people in)."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_django_admin_offers_no_password_change_or_sign_out(admin):
    response = Client(REMOTE_USER=admin.username).get("/admin/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Site administration" in page
    assert "View site" in page
    for absent in ("Change password", "Log out", "/admin/password_change/", "/admin/logout/"):
        assert absent not in page
    # Other admin pages share the header.
    quotas = Client(REMOTE_USER=admin.username).get("/admin/volumes/quota/").content.decode()
    assert "Change password" not in quotas
    assert "Log out" not in quotas
