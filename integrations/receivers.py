"""Integrations reacting to the business: releases, cancellations and invoices go out through the
outbox, written in the very transaction that makes them; a release waits for any hold that blocks
shipping, an order cancelled or held again after release is withdrawn from the WMS, a released
ERP-rejection hold resends, and cash applied, reversed or written off is told to the ERP. An
EDI partner's order gets its 855 when decided, each shipment its 856 and each invoice and credit
memo its 810 (``edi.outbound``). A notice that could not be delivered raises an integration
alert."""

from django.contrib.auth import get_user_model
from django.dispatch import receiver

from billing.signals import credit_memo_issued, invoice_released, shipment_recorded
from cases.signals import return_authorised
from core.deliveries import delivery_failed
from core.roles import get_system_user
from exceptions.signals import hold_closed, hold_released
from orders.extensions import blocking_reasons
from orders.lifecycle import Step
from orders.models import OrderState
from orders.signals import order_transitioning
from receivables.signals import (
    cash_application_reversed,
    cash_applied,
    cash_applied_together,
    write_off_applied,
)

from .edi import outbound as edi
from .models import IntegrationAlert
from .services import (
    outbox_enqueue_credit_memo,
    outbox_enqueue_invoice,
    outbox_enqueue_release,
    outbox_resend_invoices,
)
from .services.alerts import alert_raise
from .services.outbox import (
    outbox_enqueue_cancel,
    outbox_enqueue_cash_application,
    outbox_enqueue_cash_applications,
    outbox_enqueue_cash_reversal,
    outbox_enqueue_return,
    outbox_enqueue_write_off,
    outbox_release_if_shippable,
)

#: States in which the WMS may hold a release instruction for the order.
TOLD_TO_SHIP = {OrderState.RELEASED, OrderState.ALLOCATED}


@receiver(order_transitioning, dispatch_uid="integrations.release_to_wms")
def release_to_wms(sender, order, target, **kwargs) -> None:
    # A hold that blocks shipping keeps the instruction back until it closes (below).
    if target == OrderState.RELEASED and not blocking_reasons(order, Step.SHIP):
        outbox_enqueue_release(order=order)


@receiver(order_transitioning, dispatch_uid="integrations.withdraw_from_wms")
def withdraw_from_wms(sender, order, source, target, **kwargs) -> None:
    # Cancelled (upstream or by customer service), or back on hold after an amendment: the WMS
    # must not ship what it was told to (nothing is sent if it was never told).
    if source in TOLD_TO_SHIP and target in (OrderState.CANCELLED, OrderState.ON_HOLD):
        why = "cancelled" if target == OrderState.CANCELLED else "on hold again"
        outbox_enqueue_cancel(order=order, reason=f"Order {order.number} {why}")


@receiver(order_transitioning, dispatch_uid="integrations.edi_acknowledge")
def edi_acknowledge(sender, order, target, **kwargs) -> None:
    # An EDI order decided: released, or cancelled (a hold rejected, the partner's 860): its 855
    if target in (OrderState.RELEASED, OrderState.CANCELLED):
        edi.acknowledge([order], decided=True, states={order.pk: target})


@receiver(shipment_recorded, dispatch_uid="integrations.edi_ship_notice")
def edi_ship_notice(sender, shipment, **kwargs) -> None:
    edi.ship_notice(shipment)


@receiver(hold_closed, dispatch_uid="integrations.release_when_shippable")
def release_when_shippable(sender, hold, **kwargs) -> None:
    if hold.blocks == Step.SHIP:
        outbox_release_if_shippable(order_id=hold.order_id)


@receiver(invoice_released, dispatch_uid="integrations.invoice_to_erp")
def invoice_to_erp(sender, invoice, **kwargs) -> None:
    outbox_enqueue_invoice(invoice=invoice)
    edi.invoice(invoice)


@receiver(return_authorised, dispatch_uid="integrations.return_to_wms")
def return_to_wms(sender, rma, **kwargs) -> None:
    outbox_enqueue_return(rma=rma)


@receiver(credit_memo_issued, dispatch_uid="integrations.credit_memo_to_erp")
def credit_memo_to_erp(sender, credit_memo, **kwargs) -> None:
    outbox_enqueue_credit_memo(credit_memo=credit_memo)
    edi.credit_memo(credit_memo)


@receiver(hold_released, dispatch_uid="integrations.resend_rejected_invoices")
def resend_rejected_invoices(sender, order_id, reason_code, resolution_code, actor_id, **kwargs):
    if reason_code != "ERP_POSTING_REJECTED" or resolution_code == "CLEARED":
        return
    actor = get_user_model().objects.filter(pk=actor_id).first() or get_system_user()
    outbox_resend_invoices(order_id=order_id, actor=actor, reason="ERP rejection hold released")


@receiver(cash_applied, dispatch_uid="integrations.cash_to_erp")
def cash_to_erp(sender, payment, applications, unapplied, **kwargs) -> None:
    outbox_enqueue_cash_application(payment=payment, applications=applications, unapplied=unapplied)


@receiver(cash_applied_together, dispatch_uid="integrations.cash_batch_to_erp")
def cash_batch_to_erp(sender, applied, actor=None, **kwargs) -> None:
    outbox_enqueue_cash_applications(applied, actor=actor)


@receiver(cash_application_reversed, dispatch_uid="integrations.cash_reversal_to_erp")
def cash_reversal_to_erp(sender, application, **kwargs) -> None:
    outbox_enqueue_cash_reversal(application=application)


@receiver(write_off_applied, dispatch_uid="integrations.write_off_to_erp")
def write_off_to_erp(sender, write_off, **kwargs) -> None:
    outbox_enqueue_write_off(write_off=write_off)


@receiver(delivery_failed)
def alert_on_failed_delivery(sender, delivery, **kwargs) -> None:
    """In the transaction that marks it failed: the alert and the failure commit together."""
    alert_raise(
        kind=IntegrationAlert.Kind.DELIVERY_FAILED,
        message=(
            f"{delivery.get_channel_display()} to {delivery.address} (“{delivery.subject}”) not "
            f"delivered after {delivery.attempts} tries: {delivery.last_error}"
        ),
    )
