"""Celery tasks for integrations: thin wrappers around services, idempotent, retried with backoff."""

from celery import shared_task

from o2c.errors import TransientError

from . import services

#: Retries back off exponentially with jitter, capped well below the broker's visibility timeout.
RETRYING = {
    "acks_late": True,
    "autoretry_for": (TransientError,),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 6,
    "soft_time_limit": 600,
    "time_limit": 660,
}


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
    return services.worker_heartbeat_record().beats


@shared_task(**RETRYING)
def connector_sync_all(connector_id: int) -> dict:
    """Beat entry per connector: each stream in turn, master data before the orders that use it."""
    from .models import Connector

    connector = Connector.objects.get(pk=connector_id)
    outcome = {}
    for stream in connector.streams:
        services.connector_sync(connector_id=connector_id, stream=stream)
        outcome[stream] = services.inbox_process(connector_id=connector_id, stream=stream)
    return outcome


@shared_task(**RETRYING)
def inbox_process_task(connector_id: int, stream: str) -> dict:
    return services.inbox_process(connector_id=connector_id, stream=stream)


@shared_task(**RETRYING)
def outbox_relay_task() -> dict:
    return services.outbox_relay()
