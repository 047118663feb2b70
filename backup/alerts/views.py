"""The person's alert-channels page: where alerts go, and a test alert."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import channels, delivery, services
from .forms import ChannelForm, EmailForm
from .models import Channel


def _page(request, *, channel_form=None, email_form=None, status=200):
    user = request.user
    email_on = services.email_on(user)
    context = {
        "channels_allowed": settings.ALERT_CHANNELS_ALLOWED,
        "channels": [
            (channel, channels.redacted(channel.url))
            for channel in Channel.objects.filter(user=user)
        ],
        "address": delivery.address_of(user),
        "email_on": email_on,
        "channel_form": channel_form or ChannelForm(user=user),
        "email_form": email_form or EmailForm(user=user, initial={"email": email_on}),
        "schemes": sorted(channels.SCHEMES),
    }
    return render(request, "alerts/channels.html", context, status=status)


def channels_page(request):
    return _page(request)


@require_POST
def add(request):
    if not settings.ALERT_CHANNELS_ALLOWED:
        messages.error(request, _("This server sends alerts by email only; nothing was saved."))
        return redirect("alerts:channels")
    form = ChannelForm(request.POST, user=request.user)
    if not form.is_valid():
        return _page(request, channel_form=form, status=400)
    services.add_channel(request.user, form.cleaned_data["url"])
    messages.success(request, _("Your alerts now also go to that address."))
    return redirect("alerts:channels")


@require_POST
def remove(request, channel_id):
    if services.remove_channel(request.user, channel_id):
        messages.success(request, _("That address gets no more alerts."))
    else:
        messages.error(request, _("That address was not among yours; nothing was changed."))
    return redirect("alerts:channels")


@require_POST
def email(request):
    form = EmailForm(request.POST, user=request.user)
    if not form.is_valid():
        return _page(request, email_form=form, status=400)
    services.set_email(request.user, form.cleaned_data["email"])
    if form.cleaned_data["email"]:
        messages.success(request, _("Your alerts go by email too."))
    else:
        messages.success(request, _("Your alerts no longer go by email."))
    return redirect("alerts:channels")


def _named(where: str) -> str:
    """A place an alert went, as the page says it: email in its words, a
    channel by its (redacted) address."""
    return _("email") if where == delivery.EMAIL else where


@require_POST
def test(request):
    if not services.claim_test(request.user):
        messages.warning(request, _("A test alert was sent less than a minute ago; wait a moment."))
        return redirect("alerts:channels")
    sent = services.send_test(request.user)
    if sent.reached:
        messages.success(
            request,
            _("A test alert was sent to: %(where)s.")
            % {"where": ", ".join(_named(where) for where in sent.reached)},
        )
    for where, why in sent.failed:
        messages.error(
            request,
            _("The test alert could not be sent to %(where)s: %(why)s")
            % {"where": _named(where), "why": why},
        )
    if not (sent.reached or sent.failed):
        messages.error(
            request,
            _("You have no email address and no other channel: alerts can't reach you."),
        )
    return redirect("alerts:channels")
