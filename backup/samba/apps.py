from django.apps import AppConfig


class SambaConfig(AppConfig):
    name = "backup.samba"
