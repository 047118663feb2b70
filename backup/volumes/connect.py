"""The Windows connect script: a download of the net use command the
connect card shows (backup.samba.connection builds both)."""

from django.http import Http404, HttpResponse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from backup.samba.connection import Connection

from .models import volume_of


@require_GET
def windows_script(request) -> HttpResponse:
    """The signed-in person's own share only: the script names their account
    and the server, never a password (net use asks for it)."""
    volume = volume_of(request.user)
    if volume is None or volume.pending_destruction:
        raise Http404("No volume to connect to.")
    connection = Connection.for_account(volume.account)
    response = HttpResponse(
        connection.windows_script.encode("ascii"), content_type="application/octet-stream"
    )
    # An attachment, never shown inline; the name is quoted by Django.
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=connection.windows_script_name
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
