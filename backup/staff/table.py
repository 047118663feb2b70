"""The admin table's query string (filter, name search, sort order, page),
validated by a form, and the links that change one part of it."""

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.paginator import Page, Paginator
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from backup.sso.names import ascii_name_validator

from . import selection

# Rows on one page of the admin table.
PER_PAGE = 50
ORDERS = [("asc", _("ascending")), ("desc", _("descending"))]


class VolumeTableQuery(forms.Form):
    q = forms.CharField(
        label=_("Name"),
        required=False,
        max_length=64,
        validators=[
            ascii_name_validator,
            RegexValidator(
                r"\A[A-Za-z0-9._@-]*\Z",
                _(
                    "Search by name takes letters, digits, dots, hyphens, underscores "
                    "and @ only, as in account names."
                ),
            ),
        ],
    )
    show = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[(key, choice.label) for key, choice in selection.FILTERS.items()],
    )
    sort = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=[(key, key) for key in selection.SORT_KEYS],
    )
    order = forms.ChoiceField(label=_("Order"), required=False, choices=ORDERS)
    page = forms.IntegerField(label=_("Page"), required=False, min_value=1, max_value=10**6)

    # Links in alert emails already sent say ?backups=stale or ?backups=never.
    LEGACY_FILTER = "backups"
    DEFAULTS = {
        "q": "",
        "show": selection.DEFAULT_FILTER,
        "sort": selection.DEFAULT_SORT,
        "order": "asc",
        "page": None,
    }

    def __init__(self, query):
        query = query.copy()
        if self.LEGACY_FILTER in query and "show" not in query:
            query["show"] = query[self.LEGACY_FILTER]
        super().__init__(query)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # A search looks at every volume unless a filter was chosen with it:
        # looking for someone among those needing attention finds nobody.
        if cleaned.get("q") and not self.data.get("show"):
            cleaned["show"] = "all"
        for name, default in self.DEFAULTS.items():
            if cleaned.get(name) in ("", None) and name not in self.errors:
                cleaned[name] = default
        return cleaned

    def url(self, **changes) -> str:
        """This query with ``changes``, as a relative link ("?show=all&sort=size");
        defaults are left out, and any change but the page's starts at page 1."""
        values = {**self.cleaned_data, "page": None, **changes}
        kept = [
            (name, value)
            for name, value in values.items()
            if name in self.DEFAULTS and value not in ("", None, self.DEFAULTS[name])
        ]
        return f"?{urlencode(kept)}"

    def page_of(self, rows) -> Page:
        """The page asked for (the last one when it asks beyond)."""
        return Paginator(rows, PER_PAGE).get_page(self.cleaned_data["page"])
