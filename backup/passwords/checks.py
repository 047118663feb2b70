"""A new backup password waits in the session until it is shown: sessions
must be kept on the server, never in a (signed, readable) cookie."""

from django.conf import settings
from django.core import checks

CLIENT_SIDE_ENGINES = {"django.contrib.sessions.backends.signed_cookies"}


@checks.register(checks.Tags.security)
def sessions_stay_on_the_server(app_configs: object, **kwargs: object) -> list[checks.CheckMessage]:
    if settings.SESSION_ENGINE in CLIENT_SIDE_ENGINES:
        return [
            checks.Error(
                "SESSION_ENGINE keeps sessions in the browser's cookie, where a new backup "
                "password would wait to be shown, readable by anyone who sees the cookie.",
                hint="Use a server-side session engine (the default, database sessions).",
                id="backup.passwords.E001",
            )
        ]
    return []
