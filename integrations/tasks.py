"""Celery tasks for integrations: thin wrappers around services."""

from celery import shared_task

from o2c.errors import TransientError

from .services import worker_heartbeat_record


@shared_task(
    acks_late=True,
    autoretry_for=(TransientError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=3,
    soft_time_limit=30,
    time_limit=60,
)
def worker_heartbeat() -> int:
    """Record that a worker took a task from the broker; returns the beat count."""
    return worker_heartbeat_record().beats
