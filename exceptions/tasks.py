"""Celery tasks for holds: thin wrappers around services."""

from celery import shared_task

from core.tasks import TASK_OPTIONS

from . import services
from .notifications import notices_digest


@shared_task(**TASK_OPTIONS)
def holds_escalate_overdue() -> int:
    return services.holds_escalate_overdue()


@shared_task(**TASK_OPTIONS)
def notices_digest_task() -> int:
    """Hourly: the daily digests now due in their people's own time zones."""
    return notices_digest()
