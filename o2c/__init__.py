"""o2c project wiring: settings, URLs, the Celery app, the home page and navigation."""

from .celery import app as celery_app

__all__ = ("celery_app",)
