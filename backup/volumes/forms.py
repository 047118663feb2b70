"""Input of the admin pages for volumes."""

from django import forms

from . import quotas
from .models import Quota


class QuotaForm(forms.ModelForm):
    class Meta:
        model = Quota
        fields = ["user", "max_size_gib"]

    def clean(self):
        cleaned = super().clean() or {}
        # On a change the person is read-only (not in cleaned_data).
        user = cleaned.get("user") or (self.instance.user if self.instance.pk else None)
        size = cleaned.get("max_size_gib")
        if user is not None and size is not None:
            reason = quotas.refusal(user, size)
            if reason:
                self.add_error("max_size_gib", reason)
        return cleaned
