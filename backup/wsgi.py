"""WSGI entry point (the FastCGI daemon serves this application)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backup.settings.production")

application = get_wsgi_application()
