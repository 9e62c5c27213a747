"""Celery tasks of receivables: thin wrappers that take ids and call one service."""

from celery import shared_task

from core.roles import get_system_user
from core.tasks import TASK_OPTIONS

from .reconciliation import ar_reconciliation_run


@shared_task(**TASK_OPTIONS)
def ar_reconciliation_daily() -> int:
    """Daily: compare o2c's AR with the ERP's snapshot per customer; returns how many were
    flagged."""
    return ar_reconciliation_run(actor=get_system_user()).flagged
