"""The check-in endpoints, Healthchecks' ping protocol: GET, POST or HEAD
/ping/<token> (success), /start, /fail, /log, /<exit status 0-255>; an
optional body kept as the run's log. Answers "OK" (200); "not found" (404)
for a token that does not exist, was revoked or is malformed, alike;
"rate limited" (429).

The token is the only credential. These views run outside the session,
CSRF and sign-in middleware (middleware.CheckInsFirst): a check-in never
creates a session or signs anybody in, and no log line holds the token.
"""

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from . import bodies, ratelimit, services, tokens

logger = logging.getLogger("backup.checkins")

METHODS = ("GET", "POST", "HEAD")


def _answer(text: str, status: int) -> HttpResponse:
    response = HttpResponse(text, status=status)
    response["Content-Type"] = "text/plain; charset=utf-8"
    response["Ping-Body-Limit"] = str(settings.CHECKIN_LOG_MAX_BYTES)
    # Django's request logger would write "Not Found: /ping/<token>" for a
    # 4xx: the path is the secret. The view logs what it needs itself.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


# The token is the only credential (CheckInsFirst keeps sessions out).
@login_not_required
@csrf_exempt
@never_cache
def ping(request: HttpRequest, token: str, signal: str | None = None) -> HttpResponse:
    if request.method not in METHODS:
        response = _answer("method not allowed", 405)
        response["Allow"] = ", ".join(METHODS)
        return response
    named = services.signal_of(signal)
    if named is None:
        return _answer("invalid url format", 400)
    if not tokens.well_formed(token):
        return _answer("not found", 404)
    token_hash = tokens.digest(token)
    # Before the lookup, so that a refusal says nothing about the token.
    address = request.META.get("REMOTE_ADDR", "")
    if not ratelimit.allowed(token_hash, address):
        logger.warning("check-in %s from %s: rate limited", tokens.shown(token_hash), address)
        response = _answer("rate limited", 429)
        response["Retry-After"] = str(ratelimit.WINDOW_SECONDS)
        return response
    log, truncated = bodies.read(request)
    kind, exit_status = named
    if not services.record(token, kind, exit_status, log, truncated, has_body=bool(log)):
        logger.info("check-in %s from %s: unknown token", tokens.shown(token_hash), address)
        return _answer("not found", 404)
    return _answer("OK", 200)
