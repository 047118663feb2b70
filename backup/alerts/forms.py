"""Input of the alert-channels page: refused here, before anything is saved."""

from django import forms
from django.utils.translation import gettext_lazy as _

from . import channels
from .models import MAX_CHANNELS, MAX_URL_LENGTH, Channel


class ChannelForm(forms.Form):
    url = forms.CharField(
        label=_("Webhook or push address"),
        max_length=MAX_URL_LENGTH,
        help_text=_(
            "The webhook address Slack, Microsoft Teams, Discord or Google Chat gives you "
            "(https://…), or mmosts://mattermost.example.com/HOOK-ID, "
            "matrixs://ACCESS_TOKEN@matrix.example.com/!room:example.com, "
            "ntfys://ntfy.example.com/my-topic, gotifys://gotify.example.com/TOKEN "
            "or jsons://hooks.example.com/path."
        ),
        error_messages={
            "max_length": _(
                "That address is longer than %(limit_value)d characters; nothing was saved."
            )
        },
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            channels.parse(url)
        except channels.UnusableURL as error:
            raise forms.ValidationError(str(error)) from None
        if Channel.objects.filter(user=self.user, url=url).exists():
            raise forms.ValidationError(_("Your alerts already go to that address."))
        if Channel.objects.filter(user=self.user).count() >= MAX_CHANNELS:
            raise forms.ValidationError(
                _("You can have at most %(count)d addresses; remove one first.")
                % {"count": MAX_CHANNELS}
            )
        return url


class EmailForm(forms.Form):
    email = forms.BooleanField(label=_("Also send my alerts by email"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_email(self):
        email = self.cleaned_data["email"]
        if not email and not Channel.objects.filter(user=self.user).exists():
            raise forms.ValidationError(
                _("Add a webhook or push address first: your alerts must go somewhere.")
            )
        return email
