"""Following an operation, and the owner's history."""

from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache

from . import tasks
from .models import Operation


def _visible_operation(request, pk):
    operation = get_object_or_404(Operation, pk=pk)
    # Someone else's operation is as invisible as a missing one.
    if operation.owner_name != request.user.username and not request.user.is_staff:
        raise Http404("No such operation.")
    # Its worker died: the page following it shows that, not "running"
    # (without writing: GETs never do; the worker or the periodic job ends it).
    return tasks.as_seen(operation)


def detail(request, pk):
    return render(request, "operations/detail.html", {"operation": _visible_operation(request, pk)})


@never_cache
def status(request, pk):
    operation = _visible_operation(request, pk)
    return JsonResponse(
        {
            "state": operation.state,
            "state_display": operation.get_state_display(),
            "active": operation.is_active,
            "message": operation.outcome_for(request.user.get_username()),
        }
    )


def history(request):
    operations = tasks.all_as_seen(Operation.objects.filter(owner_name=request.user.username)[:200])
    return render(request, "operations/history.html", {"operations": operations})
