"""System checks: the SSO stand-in can't be switched on in production."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def development_sso_needs_debug(app_configs, **kwargs):
    if settings.DEV_SSO and not settings.DEBUG:
        return [
            checks.Error(
                "DEV_SSO is on while DEBUG is off.",
                hint="DEV_SSO is the demo's stand-in for single sign-on; remove it.",
                id="backup.E001",
            )
        ]
    return []
