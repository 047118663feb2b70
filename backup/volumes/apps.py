from django.apps import AppConfig


class VolumesConfig(AppConfig):
    name = "backup.volumes"

    def ready(self):
        from . import work

        work.register_work()
