"""Input of the admin pages: the audit log's filter."""

import datetime
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backup.operations.models import Operation
from backup.sso.names import ascii_name_validator

# What <input type="date"> sends, whatever the page's language.
ISO_DATE = ["%Y-%m-%d"]
# No record is older or newer than these; a day beyond them bounds nothing
# (and would overflow when converted to UTC).
FIRST_DAY = datetime.date(1970, 1, 1)
LAST_DAY = datetime.date(9999, 12, 1)


class AuditFilterForm(forms.Form):
    """Which audit records to show or export; every field is optional."""

    user = forms.CharField(
        label=_("Person"),
        required=False,
        max_length=150,
        validators=[ascii_name_validator],
        help_text=_("Person: whose volume it is, or who acted; their exact user name."),
    )
    kind = forms.ChoiceField(
        label=_("Operation"),
        required=False,
        choices=[("", _("Any")), *Operation.Kind.choices],
    )
    state = forms.ChoiceField(
        label=_("Outcome"),
        required=False,
        choices=[("", _("Any")), *Operation.State.choices],
    )
    since = forms.DateField(
        label=_("From"),
        required=False,
        input_formats=ISO_DATE,
        widget=forms.DateInput(attrs={"type": "date"}, format=ISO_DATE[0]),
        error_messages={"invalid": _("Enter the first day as a date, like 2025-01-31.")},
    )
    until = forms.DateField(
        label=_("To"),
        required=False,
        input_formats=ISO_DATE,
        widget=forms.DateInput(attrs={"type": "date"}, format=ISO_DATE[0]),
        error_messages={"invalid": _("Enter the last day as a date, like 2025-01-31.")},
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error(
                "until",
                _("The last day (%(until)s) is before the first day (%(since)s).")
                % {"until": until.isoformat(), "since": since.isoformat()},
            )
        return cleaned

    def filter(self, operations: QuerySet) -> QuerySet:
        """``operations`` narrowed to the valid form's choices. Days are
        whole days in the server's time zone, both ends included."""
        data = self.cleaned_data
        user = data["user"]
        if user:
            operations = operations.filter(Q(owner_name=user) | Q(actor_name=user))
        if data["kind"]:
            operations = operations.filter(kind=data["kind"])
        if data["state"]:
            operations = operations.filter(state=data["state"])
        if data["since"] and data["since"] > FIRST_DAY:
            operations = operations.filter(requested_at__gte=_start_of(data["since"]))
        if data["until"] and data["until"] < LAST_DAY:
            next_day = data["until"] + datetime.timedelta(days=1)
            operations = operations.filter(requested_at__lt=_start_of(next_day))
        return operations


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
