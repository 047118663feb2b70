"""The audit log: every operation, filtered by person, kind, outcome and
days, on a page or as CSV."""

from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from backup.operations.models import Operation
from backup.sso.decorators import staff_required

from . import audit_export
from .forms import AuditFilterForm

PAGE_SIZE = 50


def _page(request, form, status=200, error=None):
    context = {"form": form, "error": error}
    if form.is_valid():
        operations = form.filter(Operation.objects.all())
        context["page"] = Paginator(operations, PAGE_SIZE).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        context["query"] = query.urlencode()
    else:
        status = 400
    return render(request, "staff/audit.html", context, status=status)


@staff_required
def audit(request):
    return _page(request, AuditFilterForm(request.GET))


@staff_required
def export(request):
    """The filtered records as a CSV file; an invalid filter or too many
    records answer with the page saying why, and no file."""
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return _page(request, form)
    operations = form.filter(Operation.objects.all())
    count = operations.count()
    if count > audit_export.EXPORT_LIMIT:
        error = _(
            "%(count)d records match, more than the %(limit)d one export may hold. "
            "Narrow the filter (a shorter range of days, one person or one kind) and "
            "export again."
        ) % {"count": count, "limit": audit_export.EXPORT_LIMIT}
        return _page(request, form, status=400, error=error)
    response = StreamingHttpResponse(
        audit_export.csv_lines(operations[: audit_export.EXPORT_LIMIT]),
        content_type="text/csv; charset=utf-8",
    )
    name = f"audit-{timezone.now():%Y%m%d-%H%M%S}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
