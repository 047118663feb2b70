#!/usr/bin/env python3
"""Django's command-line utility for the backup portal."""

import os
import sys


def main():
    # Development settings by default; production sets
    # DJANGO_SETTINGS_MODULE=backup.settings.production (see README).
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backup.settings.dev")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
