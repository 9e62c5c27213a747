"""Tests of the project wiring: settings, the Celery app, the services CI runs on."""
