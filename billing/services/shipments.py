"""Recording shipments from the warehouse and their proof of delivery; a shipment that differs
from what was released raises a fulfilment hold, and each shipment is invoiced after commit."""

from datetime import datetime
from decimal import Decimal

from django.db import transaction

from core.errors import ApplicationError
from core.money import ZERO, line_amount
from core.roles import is_system_user
from exceptions.services import hold_raise
from orders.extensions import blocking_reasons
from orders.lifecycle import Step
from orders.models import Order, OrderState, Warehouse
from orders.services import order_record_shipment

from ..models import Shipment, ShipmentLine, ShipmentState
from ..signals import shipment_recorded
from .invoicing import pod_hold_clear, shipments_invoice

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
    if not quantities or any(q < 0 for q in quantities.values()):
        raise ApplicationError("A shipment needs non-negative quantities.", {"field": "lines"})
    reason = f"Shipped {external_id}" + (f" via {carrier} {tracking_number}" if carrier else "")
    # Holds that blocked shipping when the WMS shipped an order o2c had not told it to ship (a
    # released order: its instruction waits for them). Read under the order's lock, so a hold
    # closing or the order moving at the same moment cannot slip between this read and the
    # shipment; before the shipment's own shortage holds, and not for later shipments of an
    # order the WMS was told to ship.
    state = (
        Order.objects.select_for_update(of=("self",))
        .filter(pk=order_id)
        .values_list("state", flat=True)
        .first()
    )
    withheld = (
        blocking_reasons(Order(pk=order_id), Step.SHIP) if state == OrderState.RELEASED else []
    )
    # Allocates the order if it was released, records the shipped quantities and moves it on;
    # refused (Conflict) while it cannot ship, before anything is written.
    order = order_record_shipment(
        actor=actor,
        order_id=order_id,
        quantities=quantities,
        reason=reason,
        allocate_reason=f"Allocated by the WMS ({warehouse_code or 'warehouse'})",
    )
    shipment = Shipment(
        order=order,
        source_system=source,
        external_id=external_id,
        shipped_at=shipped_at,
        carrier=carrier,
        tracking_number=tracking_number,
        warehouse=Warehouse.objects.filter(code=warehouse_code).first() if warehouse_code else None,
        correlation_id=correlation_id or order.correlation_id,
    )
    shipment._history_user = actor
    shipment._change_reason = reason
    shipment.save()
    # the lines and their history rows in one INSERT each (primary keys come back for history)
    lines = ShipmentLine.objects.bulk_create(
        [
            ShipmentLine(shipment=shipment, order_line_id=line_id, quantity=quantity)
            for line_id, quantity in quantities.items()
        ]
    )
    ShipmentLine.history.bulk_history_create(
        lines, default_user=actor, default_change_reason=reason
    )
    _raise_mismatches(shipment, order.lines.all(), quantities, actor=actor)
    if withheld:
        _raise_shipped_while_held(shipment, order, quantities, withheld, actor=actor)
    # invoices are the system's doing whoever records the shipment; a connector's shipment
    # passes its already-loaded system identity along
    biller = actor if is_system_user(actor) else None
    shipment_recorded.send(sender=Shipment, shipment=shipment)
    transaction.on_commit(lambda: shipments_invoice(order_id=order.pk, actor=biller), robust=True)
    return shipment


def _raise_mismatches(shipment, lines, quantities: dict[int, Decimal], *, actor) -> None:
    """A line shipped short of what was released (allocated), or beyond what was ordered, gets a
    fulfilment hold in the warehouse queue, naming the numbers. ``lines`` are the order's lines
    with this shipment's quantities already recorded."""
    by_id = {line.pk: line for line in lines}
    for line_id, quantity in quantities.items():
        line = by_id.get(line_id)
        if line is None or line.cancelled:
            continue
        shipped_before = line.shipped_qty - quantity
        expected = max((line.allocated_qty or line.ordered_qty) - shipped_before, ZERO)
        if quantity == expected:
            continue
        over = line.shipped_qty - line.ordered_qty
        code = "SHIPMENT_OVER" if over > 0 else "SHIPMENT_SHORT"
        gap = over if over > 0 else expected - quantity
        hold_raise(
            order_id=shipment.order_id,
            line_id=line.pk,
            reason_code=code,
            actor=actor,
            value=line_amount(gap, line.unit_price),
            context={
                "shipment": shipment.external_id or str(shipment.pk),
                "sku": line.item.sku,
                "ordered": str(line.ordered_qty),
                "released": str(line.allocated_qty or line.ordered_qty),
                "shipped_before": str(shipped_before),
                "shipped_now": str(quantity),
                "short" if code == "SHIPMENT_SHORT" else "over": str(gap),
            },
        )


def _raise_shipped_while_held(shipment, order, quantities, open_holds, *, actor) -> None:
    """The warehouse shipped while a hold blocked shipping (o2c did not instruct it: the
    instruction waits for the hold). The shipment is a fact and stands; invoicing waits for the
    warehouse queue, which sees the holds that were open."""
    lines = {line.pk: line for line in order.lines.all()}
    hold_raise(
        order_id=order.pk,
        reason_code="SHIPPED_WHILE_HELD",
        actor=actor,
        value=sum(
            (line_amount(qty, lines[line_id].unit_price) for line_id, qty in quantities.items()),
            ZERO,
        ),
        context={
            "shipment": shipment.external_id or str(shipment.pk),
            "open_holds": open_holds,
        },
    )


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
    order_id = shipment.order_id

    def after_commit() -> None:
        pod_hold_clear(order_id=order_id)
        shipments_invoice(order_id=order_id)

    transaction.on_commit(after_commit, robust=True)
    return shipment
