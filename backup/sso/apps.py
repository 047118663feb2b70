from django.apps import AppConfig


class SsoConfig(AppConfig):
    name = "backup.sso"
    verbose_name = "Single sign-on"

    def ready(self):
        from . import checks  # noqa: F401 (registers the checks)
