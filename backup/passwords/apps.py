from django.apps import AppConfig


class PasswordsConfig(AppConfig):
    name = "backup.passwords"

    def ready(self):
        from . import checks  # noqa: F401 (registers the session check)
