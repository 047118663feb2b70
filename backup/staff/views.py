"""Admin pages (staff only): pool and volumes, the audit log, one user's history."""

from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import render

from backup.operations.models import Operation
from backup.privileged.client import PrivilegedError
from backup.sso.decorators import staff_required

from . import services

SORT_COLUMNS = [
    ("user", "User"),
    ("size", "Size"),
    ("used", "Used"),
    ("percent", "Used %"),
    ("mounted", "Mounted"),
    ("created", "Created"),
]


@staff_required
def overview(request):
    sort = request.GET.get("sort", "user")
    if sort not in services.SORT_KEYS:
        sort = "user"
    descending = request.GET.get("order") == "desc"
    context = {"sort": sort, "descending": descending, "sort_columns": SORT_COLUMNS}
    try:
        context["pool"] = services.pool()
        context["rows"] = services.volume_rows(sort, descending)
    except PrivilegedError:
        context["unavailable"] = True
    return render(request, "staff/overview.html", context)


@staff_required
def audit(request):
    operations = Operation.objects.all()
    filters = {
        "user": request.GET.get("user", "").strip(),
        "kind": request.GET.get("kind", ""),
        "state": request.GET.get("state", ""),
    }
    if filters["user"]:
        operations = operations.filter(
            Q(owner_name__icontains=filters["user"]) | Q(actor_name__icontains=filters["user"])
        )
    if filters["kind"] in Operation.Kind.values:
        operations = operations.filter(kind=filters["kind"])
    if filters["state"] in Operation.State.values:
        operations = operations.filter(state=filters["state"])
    page = Paginator(operations, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "staff/audit.html",
        {
            "page": page,
            "filters": filters,
            "kinds": Operation.Kind.choices,
            "states": Operation.State.choices,
            "query": query.urlencode(),
        },
    )


@staff_required
def user_history(request, username):
    operations = Operation.objects.filter(owner_name=username)[:500]
    return render(
        request, "staff/user_history.html", {"username": username, "operations": operations}
    )
