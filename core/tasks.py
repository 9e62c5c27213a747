"""Celery task presets, defined once: late acknowledgement (a task killed mid-run is redelivered),
retries of transient errors with jittered backoff, and time limits well below the broker's
visibility timeout (CELERY_VISIBILITY_TIMEOUT, 1 h), so a redelivery never overlaps a live run;
and the tasks that deliver mail and chat messages (core/deliveries.py)."""

from celery import shared_task

from .errors import TransientError

#: Scheduled and on-demand work: a few retries, minutes of run time.
TASK_OPTIONS = {
    "acks_late": True,
    "autoretry_for": (TransientError,),
    "retry_backoff": True,
    "retry_jitter": True,
    "max_retries": 5,
    "soft_time_limit": 300,
    "time_limit": 360,
}

#: Connector syncs and message processing: upstream systems fail for longer, so more retries,
#: backing off exponentially up to five minutes.
INTEGRATION_TASK_OPTIONS = {
    **TASK_OPTIONS,
    "retry_backoff_max": 300,
    "max_retries": 6,
    "soft_time_limit": 600,
    "time_limit": 660,
}

#: The worker heartbeat: seconds, not minutes; a stuck heartbeat is itself the alarm.
HEARTBEAT_TASK_OPTIONS = {**TASK_OPTIONS, "max_retries": 3, "soft_time_limit": 30, "time_limit": 60}

#: Nightly rebuilds that read everything: a longer limit and no retry, since the next night's run
#: (or its management command) does the same work.
REBUILD_TASK_OPTIONS = {"acks_late": True, "soft_time_limit": 1700, "time_limit": 1800}


#: Sending one message: seconds, not minutes (an SMTP or webhook timeout is far shorter). Retries
#: are counted on the delivery row, not by Celery, so a re-enqueued row keeps its count.
DELIVERY_TASK_OPTIONS = {"acks_late": True, "soft_time_limit": 60, "time_limit": 90}


@shared_task(bind=True, max_retries=None, **DELIVERY_TASK_OPTIONS)
def delivery_send_task(self, delivery_id: int) -> str:
    """Send one delivery; on failure, try again after its backoff until its last attempt."""
    from .deliveries import delivery_send  # noqa: PLC0415 - the service imports this module

    outcome, wait = delivery_send(delivery_id=delivery_id)
    if outcome == "retry":
        raise self.retry(countdown=wait)
    return outcome


@shared_task(**TASK_OPTIONS)
def deliveries_sweep_task() -> int:
    """Beat: enqueue again the pending deliveries whose task was lost."""
    from .deliveries import deliveries_sweep  # noqa: PLC0415 - the service imports this module

    return deliveries_sweep()
