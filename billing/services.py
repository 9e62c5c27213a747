"""Writes for billing: recording shipments from the warehouse and their proof of delivery."""

from datetime import datetime
from decimal import Decimal

from django.db import transaction

from o2c.errors import ApplicationError, Conflict
from orders.models import Order, OrderState, Warehouse
from orders.services import order_record_shipment, order_transition

from .models import Shipment, ShipmentLine, ShipmentState

SHIPPABLE = {
    OrderState.RELEASED,
    OrderState.ALLOCATED,
    OrderState.PARTIALLY_SHIPPED,
    OrderState.PARTIALLY_INVOICED,
}


@transaction.atomic
def shipment_record(
    *,
    actor,
    order_id: int,
    source: str,
    external_id: str,
    quantities: dict[int, Decimal],
    shipped_at: datetime,
    warehouse_code: str = "",
    carrier: str = "",
    tracking_number: str = "",
    correlation_id=None,
) -> Shipment:
    """Record a WMS ship confirmation: the shipment, its lines, and the order's shipped quantities.
    A repeat of the same confirmation returns the first shipment and changes nothing."""
    existing = Shipment.objects.filter(source_system=source, external_id=external_id).first()
    if existing is not None:
        return existing
    order = Order.objects.select_for_update(of=("self",)).get(pk=order_id)
    if order.state not in SHIPPABLE:
        raise Conflict(
            f"Order {order.number} is {order.get_state_display().lower()}; it cannot ship yet."
        )
    if not quantities or any(q < 0 for q in quantities.values()):
        raise ApplicationError("A shipment needs non-negative quantities.", {"field": "lines"})
    reason = f"Shipped {external_id}" + (f" via {carrier} {tracking_number}" if carrier else "")
    if order.state == OrderState.RELEASED:
        order_transition(
            actor=actor,
            order_id=order.pk,
            transition="allocate",
            reason=f"Allocated by the WMS ({warehouse_code or 'warehouse'})",
        )
    shipment = Shipment(
        order=order,
        source_system=source,
        external_id=external_id,
        shipped_at=shipped_at,
        carrier=carrier,
        tracking_number=tracking_number,
        warehouse=Warehouse.objects.filter(code=warehouse_code).first(),
        correlation_id=correlation_id or order.correlation_id,
    )
    shipment._history_user = actor
    shipment._change_reason = reason
    shipment.save()
    for line_id, quantity in quantities.items():
        line = ShipmentLine(shipment=shipment, order_line_id=line_id, quantity=quantity)
        line._history_user = actor
        line._change_reason = reason
        line.save()
    order_record_shipment(actor=actor, order_id=order.pk, quantities=quantities, reason=reason)
    return shipment


@transaction.atomic
def shipment_deliver(
    *, actor, source: str, external_id: str, delivered_at: datetime, signed_by: str
) -> Shipment:
    """Proof of delivery from the TMS; a repeat of a delivered shipment changes nothing."""
    shipment = (
        Shipment.objects.select_for_update(of=("self",))
        .filter(source_system=source, external_id=external_id)
        .first()
    )
    if shipment is None:
        raise Shipment.DoesNotExist(external_id)
    if shipment.state == ShipmentState.DELIVERED:
        return shipment
    shipment.deliver(at=delivered_at, signed_by=signed_by)
    shipment._history_user = actor
    shipment._change_reason = f"Delivered, signed by {signed_by or 'unknown'}"
    shipment.save()
    return shipment
