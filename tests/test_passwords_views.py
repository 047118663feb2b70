"""The backup password page: a POST sets the password and redirects; the
page after the redirect shows it once. GETs never change it, and a reload
neither shows it again nor makes a new one. Real accounts through the
wrappers (the password lands in /etc/shadow)."""

import re

import pytest
from django.core import checks

from backup.operations.models import Operation
from backup.passwords import views
from support.accounts import shadow_hash, unix_password_matches
from support.people import signed_in

pytestmark = [pytest.mark.root, pytest.mark.django_db]

PASSWORD = re.compile(r'value="([^"]+)" data-testid="password"')


@pytest.fixture
def employee(make_employee, make_volume, portal):
    """An employee with a volume record and a real backup account."""
    person = make_employee()
    result = portal.run("useradd.py", person.username)
    assert result.returncode == 0, result.stderr
    make_volume(person, filesystem="ext4")
    return person


def client_of(person):
    return signed_in(person, enforce_csrf_checks=True)


def token_of(client):
    return str(client.get("/password/").context["csrf_token"])


def new_passwords(person):
    return Operation.objects.filter(owner_name=person.username, kind="new_password").count()


def test_a_get_never_changes_the_password(employee):
    client = client_of(employee)
    before = shadow_hash(employee.username)
    for url in ("/password/", "/password/shown/", "/password/", "/password/shown/"):
        response = client.get(url)
        assert response.status_code in (200, 302)
        assert not PASSWORD.search(response.content.decode())
    assert shadow_hash(employee.username) == before
    assert new_passwords(employee) == 0


def test_the_post_redirects_and_the_password_is_shown_once(employee):
    client = client_of(employee)
    posted = client.post("/password/", {"csrfmiddlewaretoken": token_of(client)})
    assert posted.status_code == 302
    assert posted["Location"] == "/password/shown/"
    assert b"data-testid" not in posted.content  # the password is not in the redirect
    assert "no-store" in posted["Cache-Control"]

    shown = client.get("/password/shown/")
    assert shown.status_code == 200
    assert "no-store" in shown["Cache-Control"]
    password = PASSWORD.search(shown.content.decode()).group(1)
    assert unix_password_matches(employee.username, password)
    assert views.PENDING not in client.session  # gone from the server once shown
    hash_after = shadow_hash(employee.username)

    reloaded = client.get("/password/shown/")
    assert reloaded.status_code == 200
    assert "no-store" in reloaded["Cache-Control"]
    page = reloaded.content.decode()
    assert password not in page
    assert not PASSWORD.search(page)
    assert "was already shown" in page
    assert 'href="/password/"' in page  # offers making a new one
    assert shadow_hash(employee.username) == hash_after
    assert unix_password_matches(employee.username, password)
    assert new_passwords(employee) == 1


def test_the_password_page_leads_on_to_connecting(employee):
    client = client_of(employee)
    client.post("/password/", {"csrfmiddlewaretoken": token_of(client)})
    page = client.get("/password/shown/").content.decode()
    assert 'href="/#connect"' in page


def test_the_password_works_without_javascript(employee):
    client = client_of(employee)
    client.post("/password/", {"csrfmiddlewaretoken": token_of(client)})
    page = client.get("/password/shown/").content.decode()
    field = re.search(r"<input[^>]*id=\"password\"[^>]*>", page, re.S).group(0)
    assert "readonly" in field
    assert 'type="text"' in field
    # The Copy button is added by the static script; no inline script.
    assert 'id="copy-password"' not in page
    assert 'aria-live="polite"' in page
    assert "js/copy-password.js" in page


def test_another_persons_pending_password_is_not_shown(employee, make_employee):
    client = client_of(employee)
    session = client.session
    session[views.PENDING] = {"account": "someoneelse", "password": "x", "made": 0, "first": 1}
    session.save()
    response = client.get("/password/shown/")
    assert response.status_code == 302
    assert views.PENDING not in client.session


def test_sessions_in_cookies_are_refused(settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    errors = [error.id for error in checks.run_checks()]
    assert "backup.passwords.E001" in errors
