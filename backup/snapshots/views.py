"""The employee's snapshot pages (list, browse, restore) and the admins'."""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backup.core.errors import UserFacingError
from backup.core.refusals import refused_back_to
from backup.operations import services as operations
from backup.sso.decorators import staff_required
from backup.volumes.models import quota_for, volume_of

from . import listing, paths, restore, staff
from .forms import PathForm, RollbackForm
from .services import taken_at_of


def snapshot_list(request):
    volume = volume_of(request.user)
    if volume is None:
        return redirect("dashboard:home")
    context: dict[str, Any] = {
        "volume": volume,
        "active_operation": operations.active_for(request.user.username),
        "mass_change": listing.current_mass_change(volume.account),
        "protection_days": settings.SNAPSHOT_PROTECTION_DAYS,
        "quota": quota_for(request.user),
    }
    context["snapshots"] = listing.snapshots_of(volume.account)
    return render(request, "snapshots/list.html", context)


@refused_back_to("snapshots:list")
def browse(request, snapshot):
    form = PathForm(request.GET)
    if not form.is_valid():
        raise Http404("No such folder.")
    path = form.cleaned_data["path"]
    folder = restore.browse(request.user, snapshot, path)
    volume = volume_of(request.user)
    return render(
        request,
        "snapshots/browse.html",
        {
            "folder": folder,
            "taken_at": taken_at_of(snapshot),
            "with_seconds": volume is not None
            and listing.shares_its_minute(volume.account, snapshot),
            "crumbs": paths.crumbs(path),
            "entries": [(entry, entry.path_below(path)) for entry in folder.entries],
            "parent": restore.parent_of(path),
            "active_operation": operations.active_for(request.user.username),
        },
    )


def download(request, snapshot):
    """One file of a snapshot, streamed as an attachment (never shown
    inline: its content is the user's, whatever its name says)."""
    form = PathForm(request.GET)
    if not form.is_valid():
        raise Http404("No such file.")
    path = form.cleaned_data["path"]
    try:
        opened = restore.download(request.user, snapshot, path)
    except UserFacingError as refusal:
        # Not left to the refusal middleware: back to the folder the file
        # is in (a query string, which a URL name alone can't carry).
        messages.error(request, refusal.message)
        parent = restore.parent_of(path) or "."
        return redirect(
            f"{reverse('snapshots:browse', args=[snapshot])}?{urlencode({'path': parent})}"
        )
    response = StreamingHttpResponse(opened, content_type="application/octet-stream")
    response["Content-Length"] = str(opened.size)
    response["Content-Disposition"] = content_disposition_header(True, opened.header["name"])
    return response


@refused_back_to("snapshots:list")
@require_POST
def restore_path(request, snapshot):
    form = PathForm(request.POST)
    if not form.is_valid():
        raise UserFacingError(str(form.errors["path"][0]))
    operation = restore.request_restore(
        request.user, request.user, snapshot, form.cleaned_data["path"]
    )
    return redirect("operations:detail", operation.pk)


def rollback(request, snapshot):
    volume = volume_of(request.user)
    if volume is None:
        return redirect("dashboard:home")
    holds = listing.holds_bytes(volume.account, snapshot)
    context = {
        "volume": volume,
        "snapshot": snapshot,
        "taken_at": taken_at_of(snapshot),
        "with_seconds": listing.shares_its_minute(volume.account, snapshot),
        "holds_bytes": holds,
        # Restoring it would empty the volume (a first snapshot taken before
        # any backup): say so before the owner types their name.
        "holds_nothing": holds is not None and holds < listing.NEARLY_EMPTY_BYTES,
    }
    if request.method == "POST":
        form = RollbackForm(request.POST)
        typed = form.cleaned_data["confirmation"] if form.is_valid() else ""
        try:
            operation = restore.request_rollback(request.user, request.user, snapshot, typed)
        except UserFacingError as refusal:
            # Not left to the refusal middleware: the form is shown again
            # with the sentence beside the typed confirmation.
            return render(
                request,
                "snapshots/rollback.html",
                {**context, "error": refusal.message},
                status=400,
            )
        return redirect("operations:detail", operation.pk)
    return render(request, "snapshots/rollback.html", context)


@require_POST
def dismiss_mass_change(request, pk):
    volume = volume_of(request.user)
    if volume is not None and listing.dismiss_mass_change(volume.account, pk):
        messages.success(request, _("The warning is dismissed."))
    return redirect("snapshots:list")


@staff_required
def staff_snapshots(request):
    return render(request, "snapshots/staff.html", staff.page_context())
