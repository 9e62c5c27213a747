"""Celery task counters for /metrics, kept in the cache every process shares (Redis in
production): how many runs of each task succeeded, failed or were retried, and the seconds they
took. Counted where the task runs, in whichever worker, and read by any web process at a scrape.
(With make run's per-process cache the web process sees only its own, that is none.)"""

import logging
import time

from celery.signals import task_postrun, task_prerun

logger = logging.getLogger("o2c.metrics")

#: Celery's end states, by the name /metrics gives them.
OUTCOMES = {"SUCCESS": "succeeded", "FAILURE": "failed", "RETRY": "retried"}
_started: dict[str, float] = {}


def _key(task: str, field: str) -> str:
    return f"o2c:tasks:{task}:{field}"


def task_record(task: str, outcome: str, seconds: float) -> None:
    """Count one run. Atomic increments (INCRBY on Redis), so workers never lose a count; a cache
    outage costs the count, never the task."""
    from django.core.cache import cache  # noqa: PLC0415 - Django is set up by now

    try:
        for field, by in ((outcome, 1), ("ms", round(seconds * 1000))):
            cache.add(_key(task, field), 0, timeout=None)
            cache.incr(_key(task, field), by)
    except Exception:
        logger.warning("task metrics not recorded for %s", task, exc_info=True)


def task_counts(tasks: list[str]) -> dict[str, dict[str, int]]:
    """Per task, its counts by outcome and its milliseconds, in one cache round trip."""
    from django.core.cache import cache  # noqa: PLC0415

    fields = [*OUTCOMES.values(), "ms"]
    found = cache.get_many([_key(task, field) for task in tasks for field in fields])
    return {
        task: {field: int(found.get(_key(task, field), 0)) for field in fields} for task in tasks
    }


@task_prerun.connect
def _start(task_id=None, task=None, **kwargs) -> None:
    if not getattr(task.request, "is_eager", False):
        _started[task_id] = time.monotonic()


@task_postrun.connect
def _finish(task_id=None, task=None, state=None, **kwargs) -> None:
    started = _started.pop(task_id, None)
    if started is not None and state in OUTCOMES:
        task_record(task.name, OUTCOMES[state], time.monotonic() - started)
