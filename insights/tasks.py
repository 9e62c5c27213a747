"""Celery tasks for the KPI slices: thin wrappers around ``insights.rollups``."""

from celery import shared_task

from exceptions.tasks import TASK_OPTIONS

from . import rollups


@shared_task(**TASK_OPTIONS)
def kpis_refresh() -> int:
    """Every minute: recompute the days whose records changed."""
    days = rollups.refresh()
    return len(days) if days is not None else -1


# A full rebuild reads every order once (minutes at a million): a longer limit, and no retry,
# since tomorrow's run (or `manage.py refresh_kpis --rebuild`) does the same work.
@shared_task(acks_late=True, soft_time_limit=1700, time_limit=1800)
def kpis_rebuild() -> int:
    """Nightly: recompute every slice, catching any change the minute refresh could not see."""
    return rollups.rebuild()
