"""o2c project package: settings, URLs, the Celery app and the shared application error."""

from .celery import app as celery_app

__all__ = ("celery_app",)
