"""Celery tasks for billing: thin wrappers around services, scheduled in django-celery-beat."""

from celery import shared_task

from core.tasks import TASK_OPTIONS
from orders.models import Customer

from . import services


@shared_task(**TASK_OPTIONS)
def invoices_catch_up() -> int:
    """Invoice whatever is billable and not invoiced (a crash between a shipment and its invoice,
    a hold that blocked invoicing and has gone)."""
    return len(services.shipments_invoice())


@shared_task(**TASK_OPTIONS)
def invoices_consolidate_daily() -> int:
    return len(services.invoices_consolidate(rule=Customer.BillingRule.CONSOLIDATED_DAILY))


@shared_task(**TASK_OPTIONS)
def invoices_consolidate_weekly() -> int:
    return len(services.invoices_consolidate(rule=Customer.BillingRule.CONSOLIDATED_WEEKLY))


@shared_task(**TASK_OPTIONS)
def pod_overdue_scan() -> int:
    return services.shipments_hold_pod_overdue()
