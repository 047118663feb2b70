from django.apps import AppConfig


class NodesConfig(AppConfig):
    name = "backup.nodes"
    verbose_name = "Storage servers"
