"""Customer service's and pricing's edits of an open order (lines, prices, ship-to, customer
master data); each records who edited last and re-evaluates the order after commit."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError, Conflict, PermissionDenied, require_reason
from core.roles import Role, is_system_user

from ..models import Customer, Order, OrderLine, ShipTo
from ..selectors import customers_for_user, items_by_sku
from ..signals import order_changed
from .access import EDITABLE_STATES, lock_order, require_writer
from .pricing import contract_prices, note_price_override, recalculate_totals


@transaction.atomic
def order_update_line(
    *,
    actor,
    order_id: int,
    line_id: int,
    quantity: Decimal,
    unit_price: Decimal | None,
    reason: str,
) -> OrderLine:
    """Change a line's quantity or price; the order is re-evaluated after commit."""
    require_writer(actor)
    reason = require_reason(reason)
    if quantity <= 0:
        raise ApplicationError("Quantities must be greater than zero.", {"field": "quantity"})
    if unit_price is not None and unit_price < 0:
        raise ApplicationError("Prices cannot be negative.", {"field": "unit_price"})
    order = lock_order(order_id=order_id, actor=actor)
    line, lines = _editable_line(order, line_id)
    if line.ordered_qty == quantity and line.unit_price == unit_price:
        return line
    line.ordered_qty = quantity
    line.unit_price = unit_price
    note_price_override(line, actor)
    _save_line_change(order, line, lines, actor, reason)
    return line


@transaction.atomic
def order_line_set_price(
    *, actor, order_id: int, line_id: int, unit_price: Decimal, reason: str
) -> OrderLine:
    """Pricing's correction of one line's price; the order is re-evaluated after commit."""
    require_writer(actor, Role.PRICING, Role.CUSTOMER_SERVICE)
    reason = require_reason(reason)
    if unit_price is None or unit_price < 0:
        raise ApplicationError("Enter a price of zero or more.", {"field": "unit_price"})
    order = lock_order(order_id=order_id, actor=actor)
    line, lines = _editable_line(order, line_id)
    line.unit_price = unit_price
    note_price_override(line, actor)
    _save_line_change(order, line, lines, actor, reason)
    return line


@transaction.atomic
def order_line_accept_price(*, actor, order_id: int, line_id: int, reason: str) -> OrderLine:
    """A person accepted a line's off-contract price (a pricing hold overridden): they own it now,
    for finance's maker-checker."""
    require_writer(actor, Role.PRICING, Role.CUSTOMER_SERVICE)
    reason = require_reason(reason)
    order = lock_order(order_id=order_id, actor=actor)
    line = order.lines.select_related("item").filter(pk=line_id).first()
    if line is None:
        raise ApplicationError("That line is not on this order.", {"field": "line"})
    if line.unit_price != line.default_price and not is_system_user(actor):
        line.price_overridden_by = actor
        line._history_user = actor
        line._change_reason = reason
        line.save(update_fields=["price_overridden_by"])
    return line


@transaction.atomic
def order_set_ship_to(*, actor, order_id: int, ship_to_id: int, reason: str) -> Order:
    """Customer service fills in or corrects the ship-to; the order is re-evaluated after commit."""
    require_writer(actor)
    reason = require_reason(reason)
    order = lock_order(order_id=order_id, actor=actor)
    _require_editable(order)
    ship_to = ShipTo.objects.filter(pk=ship_to_id, customer_id=order.customer_id).first()
    if ship_to is None:
        raise ApplicationError(
            "That ship-to does not belong to the customer.", {"field": "ship_to"}
        )
    order.ship_to = ship_to
    _save_order_edit(order, actor, reason)
    return order


@transaction.atomic
def customer_update_master_data(
    *, actor, customer_id: int, payment_terms: str, tax_region: str, reason: str
) -> Customer:
    """Customer service fills in missing payment terms or tax region."""
    require_writer(actor)
    reason = require_reason(reason)
    customer = customers_for_user(actor).select_for_update().filter(pk=customer_id).first()
    if customer is None:
        raise PermissionDenied("Customer not found or not yours to change.")
    if payment_terms not in Customer.PaymentTerms.values:
        raise ApplicationError("Choose valid payment terms.", {"field": "payment_terms"})
    if not tax_region.strip():
        raise ApplicationError("Enter a tax region.", {"field": "tax_region"})
    customer.payment_terms = payment_terms
    customer.tax_region = tax_region.strip().upper()
    customer._history_user = actor
    customer._change_reason = reason
    customer.save()
    return customer


def _require_editable(order: Order) -> None:
    if order.state not in EDITABLE_STATES:
        raise Conflict(
            f"Order {order.number} is {order.get_state_display().lower()}; "
            "its lines can no longer be edited."
        )


def _editable_line(order: Order, line_id: int) -> tuple[OrderLine, list[OrderLine]]:
    _require_editable(order)
    lines = list(order.lines.select_related("item"))
    line = next((line for line in lines if line.pk == line_id), None)
    if line is None or line.cancelled:
        raise ApplicationError("That line is not open on this order.", {"field": "line"})
    return line, lines


def _save_order_edit(order: Order, actor, reason: str) -> None:
    """Record who edited the order last (maker-checker reads it) and re-evaluate after commit."""
    order.last_edited_by = actor
    order._history_user = actor
    order._change_reason = reason
    order.save()
    transaction.on_commit(lambda: order_changed.send_robust(sender=Order, order_id=order.pk))


def _save_line_change(
    order: Order, line: OrderLine, lines: list[OrderLine], actor, reason: str
) -> None:
    line._history_user = actor
    line._change_reason = reason
    line.save()
    recalculate_totals(order, lines)
    _save_order_edit(order, actor, reason)


@transaction.atomic
def order_line_cancel(*, actor, order_id: int, line_id: int, reason: str) -> OrderLine:
    """Cancel one line (kept for the record); the rest of the order goes on."""
    require_writer(actor, Role.WAREHOUSE, Role.CUSTOMER_SERVICE)
    reason = require_reason(reason)
    order = lock_order(order_id=order_id, actor=actor)
    line, lines = _editable_line(order, line_id)
    if sum(1 for other in lines if not other.cancelled) == 1:
        raise Conflict("This is the order's last open line; cancel the order instead.")
    line.cancelled = True
    _save_line_change(order, line, lines, actor, reason)
    return line


@transaction.atomic
def order_line_substitute(
    *, actor, order_id: int, line_id: int, sku: str, reason: str
) -> OrderLine:
    """Replace a line's item with another SKU, priced at the customer's contract or list price."""
    require_writer(actor, Role.WAREHOUSE, Role.CUSTOMER_SERVICE)
    reason = require_reason(reason)
    order = lock_order(order_id=order_id, actor=actor)
    line, lines = _editable_line(order, line_id)
    item = items_by_sku([(sku or "").strip().upper()]).get((sku or "").strip().upper())
    if item is None:
        raise ApplicationError(f"Unknown SKU “{sku}”.", {"field": "sku"})
    if item.pk == line.item_id:
        raise ApplicationError("That is already the line's item.", {"field": "sku"})
    contract = contract_prices(order.customer, [item.pk], timezone.now().date())
    line.item = item
    line.contract_price = contract.get(item.pk)
    line.unit_price = contract.get(item.pk, item.list_price)
    _save_line_change(order, line, lines, actor, reason)
    return line
