"""One person's admin page: their volume, its backups and recent
operations, and what an admin does on their behalf (mount, add space,
delete). The volume services do the work and keep their rules; the admin is
recorded as the operation's actor, the person as its owner."""

from django.contrib.auth import get_user_model
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from backup.core.errors import UserFacingError
from backup.core.refusals import refused_back_to
from backup.discovery.dashboard import report_for
from backup.operations import records
from backup.operations import services as operations
from backup.operations import tasks as operation_tasks
from backup.operations.models import Operation
from backup.sso.decorators import staff_required
from backup.sso.names import is_account_name
from backup.volumes import requests as volumes
from backup.volumes import status
from backup.volumes.models import quota_for, volume_of

# Operations shown on the page; the audit log, filtered by the person, has all.
RECENT_OPERATIONS = 10


def _missing(request, username):
    """The answer for a name that can't be an account (400) or that has no
    volume (404): a page saying so, with the name's past operations if any."""
    if not is_account_name(username):
        return render(
            request, "staff/person.html", {"username": username, "invalid": True}, status=400
        )
    context = {
        "username": username,
        "operations": Operation.objects.filter(owner_name=username)[:RECENT_OPERATIONS],
    }
    return render(request, "staff/person.html", context, status=404)


def _volume_or_none(username):
    """(the volume's owner, the volume), or None when the name has no volume."""
    if not is_account_name(username):
        return None
    owner = get_user_model().objects.filter(username=username).first()
    volume = volume_of(owner) if owner is not None else None
    return (owner, volume) if volume is not None else None


@staff_required
def person(request, username):
    found = _volume_or_none(username)
    if found is None:
        return _missing(request, username)
    owner, volume = found
    quota = quota_for(owner)
    context = {
        "username": username,
        "volume": volume,
        "quota": quota,
        "add_space_target": volumes.add_space_target(volume, quota),
        "at_quota": volume.size_gib >= quota,
        "active_operation": operations.active_for(username),
        "operations": operation_tasks.all_as_seen(
            Operation.objects.filter(owner_name=username)[:RECENT_OPERATIONS]
        ),
        "report": report_for(volume),
    }
    try:
        context["state"] = status.volume_state(volume.account, records.finished_version(username))
    except status.StatusUnavailable:
        context["status_unavailable"] = True
    return render(request, "staff/person.html", context)


def _on_behalf(request_operation):
    """A POST-only, staff-only view starting ``request_operation(person,
    admin)`` on the person's volume; the operation's page follows it."""

    @refused_back_to("staff:person", "username")
    @require_POST
    @staff_required
    def view(request, username):
        found = _volume_or_none(username)
        if found is None:
            return _missing(request, username)
        operation = request_operation(found[0], request.user)
        return redirect("operations:detail", operation.pk)

    return view


mount = _on_behalf(volumes.request_mount)
add_space = _on_behalf(volumes.request_add_space)


@staff_required
def delete(request, username):
    """The person's volume is deleted only after its account name is typed."""
    found = _volume_or_none(username)
    if found is None:
        return _missing(request, username)
    owner, volume = found
    context = {"username": username, "volume": volume}
    if request.method == "POST":
        typed = request.POST.get("confirmation")
        try:
            operation = volumes.request_delete(owner, request.user, typed)
        except UserFacingError as refusal:
            # Not left to the refusal middleware: the form is shown again
            # with the sentence beside the typed confirmation.
            context["error"] = refusal.message
            return render(request, "staff/person_delete.html", context, status=refusal.status)
        return redirect("operations:detail", operation.pk)
    return render(request, "staff/person_delete.html", context)


@staff_required
def history(request, username):
    """The old per-user history page: its content is now the person's page."""
    return redirect("staff:person", username, permanent=True)
