"""The site's own pages for what it expects: a stale form (CSRF), GET on an
action's address, and refusals (403, 404) logged as one line."""

import logging

import pytest
from django.test import Client

from backup.operations.models import Operation

pytestmark = pytest.mark.django_db

ACTIONS = [
    "/volume/create/",
    "/volume/add-space/",
    "/volume/mount/",
    "/volume/defragment/",
    "/volume/scrub/",
]


def test_a_stale_form_gets_the_sites_page_and_a_way_back(person, monkeypatch):
    calls = []
    monkeypatch.setattr("backup.privileged.commands.run", lambda *a, **k: calls.append(a))
    client = Client(REMOTE_USER=person.username, enforce_csrf_checks=True)
    response = client.post(
        "/volume/create/",
        {"csrfmiddlewaretoken": "from-another-session"},
        HTTP_REFERER="http://testserver/",
    )
    assert response.status_code == 403
    page = response.content.decode()
    assert "Nothing was done" in page
    assert "switched user in another tab" in page
    assert 'href="http://testserver/"' in page
    assert "Backup storage" in page  # the site's own layout
    assert "CSRF verification failed" not in page
    assert calls == []
    assert not Operation.objects.exists()


def test_the_way_back_never_leads_off_the_site(person):
    client = Client(REMOTE_USER=person.username, enforce_csrf_checks=True)
    response = client.post("/volume/create/", HTTP_REFERER="https://evil.example/phish")
    assert response.status_code == 403
    assert "evil.example" not in response.content.decode()
    assert 'href="/"' in response.content.decode()


@pytest.mark.parametrize("url", ACTIONS)
def test_get_on_an_action_gets_a_page_and_does_nothing(person, url):
    response = Client(REMOTE_USER=person.username).get(url)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    page = response.content.decode()
    assert "only works from its button" in page
    assert "Nothing was done" in page
    assert not Operation.objects.exists()


def test_get_on_ending_an_operation_gets_a_page(make_person):
    admin = make_person("pagesadm", admin=True)
    response = Client(REMOTE_USER=admin.username).get("/staff/operations/1/end/")
    assert response.status_code == 405
    assert b"only works from its button" in response.content


def request_log(caplog):
    return [record for record in caplog.records if record.name == "django.request"]


def test_a_missing_page_is_logged_as_one_line(person, caplog):
    caplog.set_level(logging.WARNING, logger="django.request")
    response = Client(REMOTE_USER=person.username).get("/operations/999999/")
    assert response.status_code == 404
    assert b"Page not found" in response.content
    [record] = request_log(caplog)
    assert record.getMessage() == "Not Found: /operations/999999/"
    assert record.exc_info is None


def test_a_forbidden_page_is_logged_as_one_line(person, caplog):
    caplog.set_level(logging.WARNING, logger="django.request")
    response = Client(REMOTE_USER=person.username).get("/staff/")
    assert response.status_code == 403
    assert b"You can't open this page" in response.content
    [record] = request_log(caplog)
    assert record.getMessage() == "Forbidden (Permission denied): /staff/"
    assert record.exc_info is None


def test_an_unknown_address_is_logged_as_one_line(person, caplog):
    caplog.set_level(logging.WARNING, logger="django.request")
    response = Client(REMOTE_USER=person.username).get("/no/such/page/")
    assert response.status_code == 404
    [record] = request_log(caplog)
    assert record.getMessage() == "Not Found: /no/such/page/"
    assert record.exc_info is None


def test_a_server_error_keeps_its_traceback(person, caplog, monkeypatch):
    caplog.set_level(logging.WARNING, logger="django.request")

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("backup.dashboard.views.volume_of", explode)
    response = Client(REMOTE_USER=person.username, raise_request_exception=False).get("/")
    assert response.status_code == 500
    [record] = request_log(caplog)
    assert record.exc_info is not None
    assert record.exc_info[0] is RuntimeError
