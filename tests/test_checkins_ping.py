"""The check-in endpoints (backup.checkins.ping), through Django's whole
middleware stack with its test client: Healthchecks' protocol (each
signal, methods, exit statuses, bodies), the token as the only credential
(stored as a hash, revoked = unknown, no session, no CSRF, never logged),
hostile bodies and the rate limits."""

import logging

import pytest
from django.core.cache import caches
from django.test import Client

from backup.checkins import services, tokens
from backup.checkins.checks import checkin_settings
from backup.checkins.models import CheckIn

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_limits():
    caches["checkins"].clear()


@pytest.fixture
def made(django_user_model):
    owner = django_user_model.objects.create(username=f"chk{tokens.new()[:8].lower()}")
    return services.create(owner, "Laptop", 24)


def client():
    # enforce_csrf_checks: a POST without a token would be refused anywhere else.
    return Client(enforce_csrf_checks=True)


def reload(made):
    return CheckIn.objects.get(pk=made.checkin.pk)


def test_only_a_hash_of_the_token_is_stored(made):
    row = reload(made)
    assert len(made.token) == 32
    assert tokens.well_formed(made.token)
    assert row.token_hash == tokens.digest(made.token) != made.token
    assert made.token not in str(CheckIn.objects.filter(pk=row.pk).values().first())


def test_tokens_are_random(django_user_model):
    assert len({tokens.new() for _ in range(1000)}) == 1000


@pytest.mark.parametrize("method", ["get", "post", "head"])
def test_a_success_by_get_post_or_head(made, method):
    response = getattr(client(), method)(f"/ping/{made.token}")
    assert response.status_code == 200
    if method != "head":
        assert response.content == b"OK"
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    row = reload(made)
    assert row.last_success_at is not None
    assert row.last_signal == "success"
    assert row.check_ins == 1


def test_start_then_success_ends_the_run(made):
    assert client().get(f"/ping/{made.token}/start").content == b"OK"
    assert reload(made).started_at is not None
    assert services.status_of(reload(made), reload(made).started_at) == services.RUNNING
    client().post(f"/ping/{made.token}", data=b"done", content_type="text/plain")
    row = reload(made)
    assert row.started_at is None
    assert row.last_success_at is not None
    assert row.last_log == "done"
    assert row.last_log_signal == "success"


def test_fail_keeps_its_log_and_says_failed(made):
    client().get(f"/ping/{made.token}")
    response = client().post(
        f"/ping/{made.token}/fail", data=b"repository locked\n", content_type="text/plain"
    )
    assert response.status_code == 200
    row = reload(made)
    assert row.failure_log == "repository locked\n"
    assert services.status_of(row, row.last_failure_at) == services.FAILED


@pytest.mark.parametrize(
    ("status", "success", "failed"), [("0", True, False), ("1", False, True), ("255", False, True)]
)
def test_exit_status(made, status, success, failed):
    assert client().get(f"/ping/{made.token}/{status}").status_code == 200
    row = reload(made)
    assert (row.last_success_at is not None) is success
    assert (row.last_failure_at is not None) is failed
    assert row.last_exit_status == int(status)


@pytest.mark.parametrize("action", ["256", "1000", "-1", "00000", "finish", "%E2%91%A0", "²"])
def test_an_unknown_action_is_refused_and_changes_nothing(made, action):
    response = client().get(f"/ping/{made.token}/{action}")
    assert (response.status_code, response.content) == (400, b"invalid url format")
    assert reload(made).check_ins == 0


def test_log_keeps_the_body_and_changes_no_state(made):
    client().post(f"/ping/{made.token}/log", data=b"half way", content_type="text/plain")
    row = reload(made)
    assert row.last_log == "half way"
    assert row.last_log_signal == "log"
    assert row.last_success_at is None
    assert row.last_failure_at is None
    assert services.status_of(row, row.created_at) == services.WAITING


def test_other_methods_are_refused(made):
    for method in ("put", "delete", "patch", "options"):
        response = getattr(client(), method)(f"/ping/{made.token}")
        assert response.status_code == 405
        assert response["Allow"] == "GET, POST, HEAD"
    assert reload(made).check_ins == 0


def test_unknown_revoked_and_malformed_tokens_get_the_same_answer(made):
    unknown = client().get(f"/ping/{tokens.new()}")
    malformed = client().get("/ping/<script>")
    services.revoke(reload(made))
    revoked = client().get(f"/ping/{made.token}")
    revoked_fail = client().post(f"/ping/{made.token}/fail", data=b"x", content_type="text/plain")
    answers = {
        (r.status_code, r.content, r.get("Content-Type"), tuple(sorted(r.headers)))
        for r in (unknown, malformed, revoked, revoked_fail)
    }
    assert len(answers) == 1
    ((status, content, content_type, _headers),) = answers
    assert (status, content, content_type) == (404, b"not found", "text/plain; charset=utf-8")


def test_a_new_address_replaces_the_old_one_at_once(made):
    new = services.new_token(reload(made))
    assert client().get(f"/ping/{made.token}").status_code == 404
    assert client().get(f"/ping/{new}").status_code == 200


def test_no_session_cookie_and_nobody_signed_in(made, django_user_model):
    """A check-in creates no session, and a session cookie sent with it
    is not even read (the session middleware never runs)."""
    signed_in = Client(REMOTE_USER=made.checkin.owner.username)
    assert signed_in.get("/checkins/setup/").status_code == 200
    cookie = signed_in.cookies["sessionid"].value
    for path in (f"/ping/{made.token}", f"/ping/{tokens.new()}"):
        anonymous = Client()
        anonymous.cookies["sessionid"] = cookie
        response = anonymous.post(path, REMOTE_USER=made.checkin.owner.username)
        assert not response.cookies, response.cookies
        assert "Set-Cookie" not in response.headers
        assert not hasattr(response.wsgi_request, "session")
        assert not hasattr(response.wsgi_request, "user")
    # The cookie still signs its owner in: nothing logged them out either.
    assert signed_in.get("/checkins/setup/").status_code == 200


def test_csrf_exempt_while_the_rest_is_not(made):
    response = client().post(f"/ping/{made.token}/fail", data=b"x", content_type="text/plain")
    assert response.status_code == 200
    user = made.checkin.owner.username
    refused = Client(enforce_csrf_checks=True, REMOTE_USER=user).post("/checkins/create/")
    assert refused.status_code == 403


def test_the_token_is_never_logged(made, caplog):
    caplog.set_level(logging.DEBUG)
    client().get(f"/ping/{made.token}")
    client().get(f"/ping/{made.token}/1000")
    client().put(f"/ping/{made.token}")
    secret = tokens.new()
    client().get(f"/ping/{secret}")
    assert caplog.records, "the unknown token is logged, by its hash's prefix"
    for record in caplog.records:
        text = record.getMessage() + str(getattr(record, "request", ""))
        assert made.token not in text
        assert secret not in text
    assert tokens.shown(tokens.digest(secret)) in caplog.text


HOSTILE = [
    (b"nul\x00byte", "nul\ufffdbyte"),
    (b"\xff\xfe not utf-8 \xc3", "\ufffd\ufffd not utf-8 \ufffd"),
    (b"<script>alert(1)</script>", "<script>alert(1)</script>"),
    (b"esc \x1b[31m red\r\nline", "esc \ufffd[31m red\nline"),
]


@pytest.mark.parametrize(("body", "kept"), HOSTILE)
def test_hostile_bodies_are_kept_clean(made, body, kept):
    response = client().post(
        f"/ping/{made.token}/fail", data=body, content_type="application/octet-stream"
    )
    assert response.status_code == 200
    assert reload(made).failure_log == kept


def test_a_huge_body_is_cut_to_the_limit(made, settings):
    body = b"A" * (settings.CHECKIN_LOG_MAX_BYTES * 500)  # 5 MB, past Django's upload limit
    response = client().post(f"/ping/{made.token}", data=body, content_type="text/plain")
    assert response.status_code == 200
    assert response["Ping-Body-Limit"] == str(settings.CHECKIN_LOG_MAX_BYTES)
    row = reload(made)
    assert len(row.last_log) == settings.CHECKIN_LOG_MAX_BYTES
    assert row.last_log_truncated


def test_a_form_encoded_body_is_kept_as_sent(made):
    """Duplicati posts form-encoded: the body is the log, never parsed."""
    response = client().post(
        f"/ping/{made.token}",
        data="message=ParsedResult%3A+Success",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert reload(made).last_log == "message=ParsedResult%3A+Success"


def test_rate_limited_per_token(made, settings):
    settings.CHECKIN_RATE_PER_TOKEN = 3
    codes = [client().get(f"/ping/{made.token}").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    assert reload(made).check_ins == 3
    # Another computer from the same address is not held back by this one.
    other = services.create(made.checkin.owner, "Desktop", 24)
    assert client().get(f"/ping/{other.token}").status_code == 200


def test_rate_limited_per_address_whatever_the_token(made, settings):
    settings.CHECKIN_RATE_PER_ADDRESS = 3
    unknown = [client().get(f"/ping/{tokens.new()}").status_code for _ in range(3)]
    assert unknown == [404, 404, 404]
    response = client().get(f"/ping/{made.token}")
    assert (response.status_code, response.content) == (429, b"rate limited")
    assert response["Retry-After"] == "60"
    assert reload(made).check_ins == 0
    assert Client(REMOTE_ADDR="10.0.0.9").get(f"/ping/{made.token}").status_code == 200


def test_a_rate_limited_answer_does_not_tell_a_token_exists(made, settings):
    settings.CHECKIN_RATE_PER_TOKEN = 0
    known = client().get(f"/ping/{made.token}")
    unknown = client().get(f"/ping/{tokens.new()}")
    assert (known.status_code, known.content) == (unknown.status_code, unknown.content)
    assert known.status_code == 429


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CHECKIN_RATE_PER_TOKEN", 0),
        ("CHECKIN_RATE_PER_ADDRESS", True),
        ("CHECKIN_LOG_MAX_BYTES", 10**9),
        ("CHECKIN_LOG_MAX_BYTES", "10000"),
    ],
)
def test_limits_out_of_range_are_refused_at_start(settings, name, value):
    assert checkin_settings(None) == []
    setattr(settings, name, value)
    (error,) = checkin_settings(None)
    assert error.id == "backup.checkins.E001"
    assert name in error.msg


def test_ping_alone_is_still_the_health_answer():
    """/ping/ alone stays the application's own health answer."""
    assert Client().get("/ping/").content == b"pong"
