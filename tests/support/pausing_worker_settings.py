"""A task worker that stops for good in the middle of creating a volume
(after the account, volume and Samba entry exist, before the portal records
the volume), so that a test can kill it there: see pause_in_create."""

from support.worker_settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "support.pause_in_create.PauseInCreateConfig"]  # noqa: F405
