from django.apps import AppConfig


class CoreConfig(AppConfig):
    # Installed only for its template library (``{% load sizes %}``); it has
    # no models.
    name = "backup.core"
