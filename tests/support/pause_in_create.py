"""Makes the worker wait forever right after a create set the Samba
password, having written the account name to BACKUP_TEST_PAUSE_MARKER.
Only the timing is changed: every step before it ran for real."""

import os
import time
from pathlib import Path

from django.apps import AppConfig


class PauseInCreateConfig(AppConfig):
    name = "support.pause_in_create"
    label = "pause_in_create"
    path = str(Path(__file__).parent)

    def ready(self):
        from backup.privileged import commands

        set_samba_password = commands.set_samba_password

        def set_then_wait(user, password):
            result = set_samba_password(user, password)
            Path(os.environ["BACKUP_TEST_PAUSE_MARKER"]).write_text(user)
            while True:
                time.sleep(60)
            return result

        commands.set_samba_password = set_then_wait
