from django.apps import AppConfig


class PagesConfig(AppConfig):
    name = "backup.pages"

    def ready(self):
        from . import logs

        logs.install()
