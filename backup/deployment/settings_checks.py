"""Deployment checks of the settings that Django's own check --deploy
doesn't make (it checks DEBUG, SECRET_KEY and an empty ALLOWED_HOSTS)."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def allowed_hosts_named(app_configs, **kwargs):
    # "*" accepts any Host header: password-reset style links and the
    # emails' portal address could then point anywhere.
    if "*" in settings.ALLOWED_HOSTS:
        return [
            checks.Warning(
                "ALLOWED_HOSTS contains '*'.",
                hint="Set allowed_hosts in the config file to the server's name(s).",
                id="backup.W002",
            )
        ]
    return []
