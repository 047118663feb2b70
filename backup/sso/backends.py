"""Authentication from the web server's REMOTE_USER."""

from django.conf import settings
from django.contrib.auth.backends import RemoteUserBackend

from . import names


class SSOBackend(RemoteUserBackend):
    """Creates a Django user on first sign-in; admins listed in BACKUP_ADMINS
    are made staff (they can also be made staff in Django's admin)."""

    def clean_username(self, username):
        return names.account_name(username)

    # RemoteUserBackend's own signature (django-stubs marks it the same way):
    # the middleware passes remote_user, never a username and password.
    def authenticate(self, request, remote_user):  # type: ignore[override]
        if not remote_user:
            return None
        try:
            names.account_name(remote_user)
        except names.UnacceptableName:
            return None
        user = super().authenticate(request, remote_user)
        if user is not None and user.username in settings.BACKUP_ADMINS and not user.is_staff:
            user.is_staff = user.is_superuser = True
            user.save(update_fields=["is_staff", "is_superuser"])
        return user
