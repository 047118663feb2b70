"""What the snapshot pages accept: a snapshot's name, a path of refs, a
typed confirmation. Anything else is refused before a wrapper is called."""

from django import forms
from django.utils.translation import gettext_lazy as _

from . import restore


class PathForm(forms.Form):
    path = forms.CharField(max_length=restore.MAX_PATH_CHARS, required=False, strip=False)

    def clean_path(self):
        path = self.cleaned_data["path"] or "."
        if not restore.valid_path(path):
            raise forms.ValidationError(_("That folder does not exist in this snapshot."))
        return path


class RollbackForm(forms.Form):
    confirmation = forms.CharField(max_length=64, required=False)
