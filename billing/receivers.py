"""Billing reacting to holds: a released billing hold is finance's decision, carried out here."""

import logging

from django.contrib.auth import get_user_model
from django.dispatch import receiver

from core.roles import get_system_user
from exceptions.signals import hold_released
from orders.models import Customer, Order

from .services import invoices_consolidate, shipments_invoice, shipments_waive_pod

logger = logging.getLogger(__name__)


@receiver(hold_released, dispatch_uid="billing.billing_hold_released")
def billing_hold_released(
    sender, order_id: int, reason_code: str, resolution_code: str, actor_id, **kwargs
):
    """POD overdue released by a person: bill without the POD. Tax failure released: try again
    (a rate fixed in admin now applies; if it still fails, a new hold says so)."""
    if reason_code not in ("POD_OVERDUE", "TAX_FAILED") or resolution_code == "CLEARED":
        return
    actor = get_user_model().objects.filter(pk=actor_id).first() or get_system_user()
    if reason_code == "POD_OVERDUE":
        shipments_waive_pod(order_id=order_id, actor=actor, reason="POD hold released by finance")
    rule = (
        Order.objects.filter(pk=order_id).values_list("customer__billing_rule", flat=True).first()
    )
    if rule in (Customer.BillingRule.CONSOLIDATED_DAILY, Customer.BillingRule.CONSOLIDATED_WEEKLY):
        invoices_consolidate(rule=rule)
    else:
        shipments_invoice(order_id=order_id)
