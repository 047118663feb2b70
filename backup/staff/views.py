"""Admin pages (staff only): pool and volumes, operations in progress.

One person's page is in person.py, the audit log in audit.py."""

from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from backup.core.refusals import refused_back_to
from backup.core.sizes import binary_size
from backup.core.times import absolute_date
from backup.discovery import staff as backup_column
from backup.operations import services as operations
from backup.operations import tasks as operation_tasks
from backup.operations.models import Operation
from backup.privileged.client import PrivilegedError
from backup.snapshots.models import SnapshotRun
from backup.sso.decorators import staff_required
from backup.volumes.status import GIB

from . import inventory, selection, table

# Shown in a cell that has no value (an en dash).
NONE = "\u2013"

SORT_COLUMNS = [
    ("user", gettext_lazy("User")),
    ("size", gettext_lazy("Size")),
    ("quota", gettext_lazy("Quota")),
    ("used", gettext_lazy("Used")),
    ("percent", gettext_lazy("Used %")),
    ("mounted", gettext_lazy("Mounted")),
    ("created", gettext_lazy("Created")),
    ("backup", gettext_lazy("Last backup")),
]


@require_http_methods(["GET", "HEAD", "POST"])
@staff_required
def overview(request):
    """The pool and the volumes that need attention (or those asked for),
    a page at a time, from an inventory reused for a few seconds; a POST
    takes a new inventory first. A fixed number of queries whatever the
    number of volumes: five from a reused inventory, seven when taking one
    (tests/test_staff_overview.py counts them)."""
    if request.method == "POST":
        try:
            inventory.current(refresh=True)
        except PrivilegedError:
            messages.error(request, _("The backup server did not answer the inventory query."))
        return redirect(request.get_full_path())
    query = table.VolumeTableQuery(request.GET)
    snapshot_run = SnapshotRun.objects.first()
    context: dict[str, Any] = {
        "snapshot_run": snapshot_run,
        "sort_columns": SORT_COLUMNS,
        "query": query,
    }
    try:
        shown = inventory.current()
    except PrivilegedError:
        return render(request, "staff/overview.html", {**context, "unavailable": True})
    context.update(
        pool=shown.pool,
        pool_figures=shown.pool.figures(),
        overcommit=shown.pool.overcommit_sentence(),
        taken_at=shown.taken_at,
        taken_seconds_ago=max(0, round((timezone.now() - shown.taken_at).total_seconds())),
        total=shown.total,
    )
    if snapshot_run and snapshot_run.snapshot_bytes is not None:
        context["snapshot_bytes"] = binary_size(snapshot_run.snapshot_bytes)
    if not query.is_valid():
        return render(request, "staff/overview.html", {**context, "invalid": True}, status=400)
    wanted = query.cleaned_data
    person = shown.person_named(wanted["q"]) if wanted["q"] else None
    if person is not None:
        return redirect("staff:person", username=person)
    descending = wanted["order"] == "desc"
    rows = shown.select(wanted["show"], wanted["q"], wanted["sort"], descending)
    page = query.page_of(rows)
    context.update(
        page=page,
        rows=page.object_list,
        table=_volume_table(page.object_list),
        filter_links=[
            {
                "label": choice.label,
                "url": query.url(show=key),
                "count": shown.counts[key],
                "active": key == wanted["show"],
            }
            for key, choice in selection.FILTERS.items()
        ],
        sort_links=[
            {
                "label": label,
                "url": query.url(
                    sort=key, order="desc" if key == wanted["sort"] and not descending else "asc"
                ),
                "active": key == wanted["sort"],
                "descending": descending,
            }
            for key, label in SORT_COLUMNS
        ],
        page_links={
            name: query.url(page=number)
            for name, number in (
                ("first", 1),
                ("previous", page.previous_page_number() if page.has_previous() else None),
                ("next", page.next_page_number() if page.has_next() else None),
                ("last", page.paginator.num_pages),
            )
            if number is not None
        },
        searching=bool(wanted["q"]),
        clear_search_url=query.url(q=""),
        filtered=wanted["show"] != "all" or bool(wanted["q"]),
    )
    return render(request, "staff/overview.html", context)


def _volume_table(rows):
    """The page's rows, each made once in Python (its cells, and its HTML in
    one format_html): per-cell template tags, translations and {% url %}
    were most of the page's time."""
    history = reverse("staff:user-history", args=["-"])
    person = reverse("staff:person", args=["-"])
    now = timezone.now()
    words = _row_words()
    table = []
    for row in rows:
        name = quote(row.owner or row.account)
        cells = {
            "account": row.account,
            "person_url": person.replace("/-/", f"/{name}/"),
            "history_url": history.replace("/-/", f"/{name}/"),
            "size": binary_size(row.size_bytes),
            "quota": binary_size(row.quota_gib * GIB) if row.quota_gib is not None else NONE,
            "used": binary_size(row.used_bytes) if row.used_bytes is not None else NONE,
            "percent": f"{row.percent}\u00a0%" if row.percent is not None else NONE,
            "created": absolute_date(row.created_at) if row.created_at else NONE,
            **backup_column.cells(row.backups, now),
        }
        cells["html"] = _row_html(row, cells, words)
        table.append(cells)
    return table


def _row_words() -> dict[str, str]:
    """The words of the table's rows, translated once per page."""
    return {
        "pending": _("deleted, pending destruction"),
        "unknown": _("not created by the portal"),
        "missing": _("missing on server"),
        "failed": _("last operation failed"),
        "full": _("nearly full"),
        "yes": _("yes"),
        "no": _("no"),
        "history": _("History"),
        "history_of": _("of %(account)s"),
    }


def _row_html(row, cells, words):
    badges = [
        format_html(' <span class="badge {}">{}</span>', style, words[key])
        for key, style, shown in (
            ("pending", "text-bg-secondary", row.pending_destruction),
            ("unknown", "text-bg-warning", not row.known_to_portal),
            ("missing", "text-bg-danger", not row.on_server),
        )
        if shown
    ]
    if row.last_operation_failed:
        badges.append(
            format_html(
                ' <a class="badge text-bg-danger" href="{}">{}</a>',
                cells["history_url"],
                words["failed"],
            )
        )
    percent = (
        format_html(
            '<strong>{}</strong> <span class="badge text-bg-warning">{}</span>',
            cells["percent"],
            words["full"],
        )
        if row.nearly_full
        else cells["percent"]
    )
    mounted = words["yes"] if row.mounted else format_html("<strong>{}</strong>", words["no"])
    return format_html(
        '<tr><td><a href="{}">{}</a>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>'
        "<td>{}</td><td>{}</td><td>{}</td>"
        '<td><a href="{}">{}<span class="visually-hidden"> {}</span></a></td></tr>',
        cells["person_url"],
        row.account,
        mark_safe("".join(badges)),  # noqa: S308 (each made by format_html)
        cells["size"],
        cells["quota"],
        cells["used"],
        percent,
        mounted,
        cells["created"],
        cells["last_backup_cell"],
        cells["history_url"],
        words["history"],
        words["history_of"] % {"account": row.account},
    )


@staff_required
def active_operations(request):
    """Every operation still recorded as queued or running: what an admin
    may end by hand. Those whose worker died show as interrupted (read
    only; the periodic job or the worker ends them)."""
    active = operation_tasks.all_as_seen(
        Operation.objects.filter(state__in=Operation.ACTIVE_STATES).order_by("requested_at")
    )
    return render(request, "staff/operations.html", {"operations": active, "now": timezone.now()})


@refused_back_to("staff:operations")
@require_POST
@staff_required
def end_operation(request, pk):
    record = operations.end_stuck(pk, request.user)
    messages.success(request, record.outcome_for(request.user.get_username()))
    return redirect("staff:operations")
