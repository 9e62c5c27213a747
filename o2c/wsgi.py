"""WSGI entry point for gunicorn or runserver."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "o2c.settings.production")

application = get_wsgi_application()
