from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VolumesConfig(AppConfig):
    name = "backup.volumes"
    verbose_name = _("Volumes")

    def ready(self):
        from . import work

        work.register_work()
