"""The admin table's "Last backup" column and its filter (?backups=stale or
never), from the rows' stored scans. Cells are text made here, like the
table's other cells: with a thousand volumes, per-cell template filters
would dominate the page time."""

from django.utils.html import format_html

from . import services

# (text, Bootstrap class, hover text) of the badge beside the last backup.
STALE_BADGE = ("stale", "text-bg-warning", "a computer's last backup is older than the threshold")
NEVER_USED_BADGE = ("never used", "text-bg-secondary", "nothing on the volume")


def filter_rows(request, rows):
    """(rows the chosen filter keeps, context for discovery/staff_filter.html)."""
    chosen = request.GET.get("backups", "")
    if chosen not in services.FILTERS:
        chosen = ""
    links = []
    choices = [("", "All"), *((key, label) for key, (label, _) in services.FILTERS.items())]
    for key, label in choices:
        query = request.GET.copy()
        query.pop("backups", None)
        if key:
            query["backups"] = key
            keep = services.FILTERS[key][1]
            count = sum(1 for row in rows if keep(row.backups))
        else:
            count = len(rows)
        url = f"?{query.urlencode()}"
        links.append({"label": label, "url": url, "count": count, "active": key == chosen})
    if chosen:
        keep = services.FILTERS[chosen][1]
        rows = [row for row in rows if keep(row.backups)]
    return rows, {"backup_filter": chosen, "backup_filter_links": links}


def cells(backups, now):
    """One row's "Last backup" cell: its text (sorting, tests) and its HTML,
    made here in one format_html rather than by template tags per row."""
    if backups is None or backups.scanned_at is None:
        return {"last_backup": "not checked", "last_backup_cell": "not checked"}
    if backups.newest_backup is None:
        text = "none" if backups.source_count == 0 else "none completed"
        html = text
    else:
        text = services.ago(backups.newest_backup, now)
        title = services.exact(backups.newest_backup)
        html = format_html('<span title="{}">{}</span>', title, text)
    badge = STALE_BADGE if backups.stale else NEVER_USED_BADGE if backups.never_used else None
    if badge:
        html = format_html(
            '{} <span class="badge {}" title="{}">{}</span>', html, badge[1], badge[2], badge[0]
        )
    return {"last_backup": text, "last_backup_cell": html, "backup_badge": badge and badge[0]}
