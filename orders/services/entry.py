"""Entering an order: lines validated against master data, priced by contract or list, numbered,
and announced after commit so the rules evaluate it."""

from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from core.errors import ApplicationError, Conflict

from ..models import Order, OrderLine, ShipTo
from ..selectors import customers_for_user, items_by_sku
from ..signals import order_received
from .access import require_writer
from .pricing import LineInput, contract_prices, note_price_override, recalculate_totals


def _validate_lines(lines: list[LineInput]) -> dict:
    if not lines:
        raise ApplicationError("An order needs at least one line.", {"field": "lines"})
    items = items_by_sku([line.sku for line in lines])
    unknown = sorted({line.sku for line in lines} - items.keys())
    if unknown:
        raise ApplicationError(f"Unknown SKU: {', '.join(unknown)}", {"skus": unknown})
    for line in lines:
        if line.quantity <= 0:
            raise ApplicationError("Quantities must be greater than zero.", {"sku": line.sku})
        if line.unit_price is not None and line.unit_price < 0:
            raise ApplicationError("Prices cannot be negative.", {"sku": line.sku})
    return items


def _save_with_number(order: Order, *, given: str | None, attempts: int = 5) -> None:
    """Insert the order under the next free SO- number; a number taken by a concurrent entry
    only undoes this savepoint, and the next try reads the new maximum."""
    for attempt in range(attempts):
        order.number = given or _next_number()
        try:
            with transaction.atomic():
                order.save()
            return
        except IntegrityError as exc:
            order.pk = None
            if given or attempt == attempts - 1:
                raise Conflict(f"Order number {order.number} is already taken.") from exc


def _next_number() -> str:
    last = Order.objects.filter(number__startswith="SO-").order_by("-number").first()
    sequence = int(last.number[3:]) + 1 if last and last.number[3:].isdigit() else 1
    return f"SO-{sequence:07d}"


@transaction.atomic
def order_create(
    *,
    actor,
    customer_id: int,
    channel: str,
    lines: list[LineInput],
    ship_to_id: int | None = None,
    requested_date: date | None = None,
    currency: str = "USD",
    number: str | None = None,
    reason: str = "Order entered",
    source_system: str = "o2c",
    external_id: str | None = None,
    correlation_id=None,
) -> Order:
    require_writer(actor)
    customer = customers_for_user(actor).filter(pk=customer_id).first()
    if customer is None:
        raise ApplicationError("Unknown customer.", {"field": "customer"})
    ship_to = None
    if ship_to_id is not None:
        ship_to = ShipTo.objects.filter(pk=ship_to_id, customer=customer).first()
        if ship_to is None:
            raise ApplicationError(
                "That ship-to does not belong to the customer.", {"field": "ship_to"}
            )
    items = _validate_lines(lines)
    now = timezone.now()
    order = Order(
        number=number or "",
        channel=channel,
        customer=customer,
        ship_to=ship_to,
        requested_date=requested_date,
        currency=currency,
        received_at=now,
        entered_by=actor,
        last_edited_by=actor,
        source_system=source_system,
        external_id=external_id,
    )
    if correlation_id is not None:
        order.correlation_id = correlation_id
    contract = contract_prices(customer, [item.pk for item in items.values()], now.date())
    order_lines = []
    for index, line in enumerate(lines, start=1):
        item = items[line.sku]
        order_lines.append(
            OrderLine(
                order=order,
                line_number=index,
                item=item,
                ordered_qty=line.quantity,
                unit_price=line.unit_price
                if line.unit_price is not None
                else contract.get(item.pk, item.list_price),
                contract_price=contract.get(item.pk),
            )
        )
        note_price_override(order_lines[-1], actor)
    recalculate_totals(order, order_lines)
    order._history_user = actor
    order._change_reason = reason
    _save_with_number(order, given=number)
    for order_line in order_lines:
        order_line.order = order
    bulk_create_with_history(
        order_lines, OrderLine, default_user=actor, default_change_reason=reason
    )
    transaction.on_commit(
        lambda: order_received.send_robust(
            sender=Order, order_id=order.pk, correlation_id=str(order.correlation_id)
        )
    )
    return order
