"""Celery tasks for cases: thin wrappers around services (the schedule is in admin)."""

from celery import shared_task

from core.tasks import TASK_OPTIONS

from . import services


@shared_task(name="cases.tasks.cases_escalate_overdue", **TASK_OPTIONS)
def cases_escalate_overdue() -> int:
    return services.cases_escalate_overdue()
