"""/metrics for Prometheus. Refused with a bare 403 unless access.allowed()."""

import logging

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import access, exposition

logger = logging.getLogger("backup.metrics")


# Its own credential: a token or an allowed address (access.allowed).
@login_not_required
@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not access.allowed(request):
        # The address only: the Authorization header may hold a real token
        # sent to the wrong place.
        logger.warning("metrics refused to %s", request.META.get("REMOTE_ADDR", "?"))
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain; charset=utf-8")
    body, content_type = exposition.render(request.headers.get("Accept"))
    return HttpResponse(body, content_type=content_type)
