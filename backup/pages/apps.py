from django.apps import AppConfig


class PagesConfig(AppConfig):
    name = "backup.pages"
