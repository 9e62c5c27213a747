"""Celery tasks for the KPI slices: thin wrappers around ``insights.rollups``."""

from celery import shared_task

from core.tasks import REBUILD_TASK_OPTIONS, TASK_OPTIONS

from . import rollups


@shared_task(**TASK_OPTIONS)
def kpis_refresh() -> int:
    """Every minute: recompute the days whose records changed."""
    days = rollups.refresh()
    return len(days) if days is not None else -1


# A full rebuild reads every order once (minutes at a million).
@shared_task(**REBUILD_TASK_OPTIONS)
def kpis_rebuild() -> int:
    """Nightly: recompute every slice, catching any change the minute refresh could not see."""
    return rollups.rebuild()
