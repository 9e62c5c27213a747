"""Celery tasks for holds: thin wrappers around services."""

from celery import shared_task

from core.tasks import TASK_OPTIONS

from . import services


@shared_task(**TASK_OPTIONS)
def holds_escalate_overdue() -> int:
    return services.holds_escalate_overdue()
