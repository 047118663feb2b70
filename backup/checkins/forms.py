from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from .models import MAX_PERIOD_HOURS, MIN_PERIOD_HOURS

# A name people read on the dashboard and in emails: printable, one line.
_PRINTABLE = RegexValidator(
    r"^[^\x00-\x1f\x7f-\x9f]*$", _("Use letters, digits and punctuation only (one line).")
)


class CheckInForm(forms.Form):
    name = forms.CharField(
        label=_("Computer"),
        max_length=100,
        validators=[_PRINTABLE],
        help_text=_("As you know it, for example “Work laptop”."),
    )
    period_hours = forms.IntegerField(
        label=_("Longest time between backups (hours)"),
        min_value=MIN_PERIOD_HOURS,
        max_value=MAX_PERIOD_HOURS,
        initial=24,
        help_text=_("With no successful check-in for this long, the computer counts as stale."),
    )
