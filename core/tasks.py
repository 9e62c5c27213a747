"""Celery task presets, defined once: late acknowledgement (a task killed mid-run is redelivered),
retries of transient errors with jittered backoff, and time limits well below the broker's
visibility timeout (CELERY_VISIBILITY_TIMEOUT, 1 h), so a redelivery never overlaps a live run."""

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
