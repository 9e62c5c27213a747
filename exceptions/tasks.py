"""Celery tasks for holds: thin wrappers around services."""

from celery import shared_task

from o2c.errors import TransientError

from . import services

TASK_OPTIONS = {
    "acks_late": True,
    "autoretry_for": (TransientError,),
    "retry_backoff": True,
    "retry_jitter": True,
    "max_retries": 5,
    "soft_time_limit": 300,
    "time_limit": 360,
}


@shared_task(**TASK_OPTIONS)
def holds_escalate_overdue() -> int:
    return services.holds_escalate_overdue()
