"""Every write to orders: atomic, row-locked, with history authors and reasons; events after commit."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q, prefetch_related_objects
from django.utils import timezone
from django_fsm import (
    ConcurrentTransition,
    TransitionNotAllowed,
    can_proceed,
    has_transition_perm,
)
from simple_history.utils import bulk_create_with_history

from o2c.errors import ApplicationError, Conflict, PermissionDenied, require_reason

from .lifecycle import Step, blocking_reasons
from .models import Customer, Order, OrderLine, OrderState, PriceAgreement, ShipTo
from .money import ZERO, line_amount
from .roles import Role, get_system_user, has_role, is_system_user
from .selectors import customers_for_user, items_by_sku, orders_for_user
from .signals import order_changed, order_received, order_transitioned, order_transitioning

#: States in which the order's lines may still be edited by customer service.
EDITABLE_STATES = {OrderState.RECEIVED, OrderState.ON_HOLD}
#: Transitions a person may trigger from the order page or admin; the rest follow events.
MANUAL_TRANSITIONS = ("place_on_hold", "release", "allocate", "close", "cancel")
_STEP_OF = {
    "release": Step.RELEASE,
    "allocate": Step.SHIP,
    "invoice": Step.INVOICE,
    "invoice_partially": Step.INVOICE,
}


@dataclass(frozen=True)
class LineInput:
    sku: str
    quantity: Decimal
    unit_price: Decimal | None = None


def _require_writer(actor, *roles: str) -> None:
    roles = roles or (Role.CUSTOMER_SERVICE,)
    if not (is_system_user(actor) or has_role(actor, Role.MANAGER, *roles)):
        raise PermissionDenied("Your role may not change this order.")


def _lock_order(*, order_id: int, actor) -> Order:
    """Lock the order row for this transaction, through the actor's row-scoped queryset."""
    order = orders_for_user(actor).select_for_update(of=("self",)).filter(pk=order_id).first()
    if order is None:
        raise PermissionDenied("Order not found or not yours to change.", {"order_id": order_id})
    return order


def _contract_prices(customer: Customer, item_ids: list[int], on: date) -> dict[int, Decimal]:
    agreements = (
        PriceAgreement.objects.filter(customer=customer, item_id__in=item_ids, valid_from__lte=on)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))
        .order_by("item_id", "-valid_from")
    )
    prices: dict[int, Decimal] = {}
    for agreement in agreements:
        prices.setdefault(agreement.item_id, agreement.contract_price)
    return prices


#: Integer digits of the order's money columns (max_digits 14, decimal_places 2).
ORDER_TOTAL_DIGITS = 12


def _recalculate_totals(order: Order, lines: list[OrderLine]) -> None:
    active = (line for line in lines if not line.cancelled)
    order.subtotal = sum((line_amount(line.ordered_qty, line.unit_price) for line in active), ZERO)
    order.total = order.subtotal + order.tax_total
    if order.total.adjusted() >= ORDER_TOTAL_DIGITS:
        # refused here, with the reason, rather than as the database's numeric overflow
        raise ApplicationError(
            f"The order's value ({order.total:,.2f}) is beyond what an order can hold.",
            {"field": "lines"},
        )


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
    _require_writer(actor)
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
    contract = _contract_prices(customer, [item.pk for item in items.values()], now.date())
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
        _note_price_override(order_lines[-1], actor)
    _recalculate_totals(order, order_lines)
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
    _require_writer(actor)
    reason = require_reason(reason)
    if quantity <= 0:
        raise ApplicationError("Quantities must be greater than zero.", {"field": "quantity"})
    if unit_price is not None and unit_price < 0:
        raise ApplicationError("Prices cannot be negative.", {"field": "unit_price"})
    order = _lock_order(order_id=order_id, actor=actor)
    line, lines = _editable_line(order, line_id)
    if line.ordered_qty == quantity and line.unit_price == unit_price:
        return line
    line.ordered_qty = quantity
    line.unit_price = unit_price
    _note_price_override(line, actor)
    _save_line_change(order, line, lines, actor, reason)
    return line


def _note_price_override(line: OrderLine, actor) -> None:
    """Remember who set a price other than the contract (or list) price; finance's maker-checker
    keeps that person from approving the invoice."""
    overridden = line.unit_price is not None and line.unit_price != line.default_price
    line.price_overridden_by = actor if overridden and not is_system_user(actor) else None


def _explain_refusal(order: Order, name: str, actor) -> ApplicationError:
    method = getattr(order, name)
    if not method._django_fsm.has_transition(order.state):
        return Conflict(
            f"Order {order.number} is {order.get_state_display().lower()}; "
            f"“{name.replace('_', ' ')}” is not possible from there.",
            {"state": order.state, "transition": name},
        )
    reasons = blocking_reasons(order, _STEP_OF[name]) if name in _STEP_OF else []
    if reasons:
        return Conflict(
            f"Order {order.number} is blocked: {'; '.join(reasons)}.",
            {"state": order.state, "transition": name, "blocked_by": reasons},
        )
    if not has_transition_perm(method, actor) and can_proceed(method):
        return PermissionDenied("Your role may not do that to this order.", {"transition": name})
    return Conflict(
        f"Order {order.number} does not meet the conditions to {name.replace('_', ' ')}.",
        {"state": order.state, "transition": name},
    )


def _apply(order: Order, name: str, *, actor, reason: str, **kwargs) -> Order:
    """Run one lifecycle transition on a locked order, or raise a clear error and change nothing."""
    method = getattr(order, name)
    # the permission first (no query), then the transition itself, which checks the state and
    # the conditions once: can_proceed() and has_transition_perm() would each evaluate the hold
    # guards again, a query apiece on every shipment and invoice
    if not method._django_fsm.has_transition_perm(order, order.state, actor):
        raise _explain_refusal(order, name, actor)
    source = order.state
    try:
        method(**kwargs)
    except TransitionNotAllowed:
        raise _explain_refusal(order, name, actor) from None
    order._history_user = actor
    order._change_reason = reason
    try:
        order.save()
    except ConcurrentTransition as exc:
        raise Conflict(
            f"Order {order.number} was changed by someone else; reload and retry."
        ) from exc
    target = order.state
    order_transitioning.send(
        sender=Order, order=order, transition=name, source=source, target=target
    )
    transaction.on_commit(
        lambda: order_transitioned.send_robust(
            sender=Order, order_id=order.pk, transition=name, source=source, target=target
        )
    )
    return order


@transaction.atomic
def order_transition(*, actor, order_id: int, transition: str, reason: str) -> Order:
    """A manual lifecycle step from the order page or admin (release, allocate, cancel, ...)."""
    reason = require_reason(reason)
    if transition not in MANUAL_TRANSITIONS:
        raise ApplicationError(
            f"“{transition}” cannot be triggered by hand.", {"transition": transition}
        )
    order = _lock_order(order_id=order_id, actor=actor)
    if transition == "release":
        return _apply(order, "release", actor=actor, reason=reason, at=timezone.now())
    if transition == "allocate":
        _apply(order, "allocate", actor=actor, reason=reason)
        lines = list(order.lines.all())
        for line in lines:
            line.allocated_qty = line.ordered_qty
        _save_lines(lines, ["allocated_qty"], actor=actor, reason=reason)
        return order
    return _apply(order, transition, actor=actor, reason=reason)


@transaction.atomic
def order_release(*, actor, order_id: int, reason: str) -> Order:
    """Release an order whose blocking holds are all cleared (or that never had one)."""
    order = _lock_order(order_id=order_id, actor=actor)
    return _apply(order, "release", actor=actor, reason=require_reason(reason), at=timezone.now())


@transaction.atomic
def order_place_on_hold(*, actor, order_id: int, reason: str) -> Order:
    order = _lock_order(order_id=order_id, actor=actor)
    if order.state == OrderState.ON_HOLD:
        return order  # idempotent: a second hold on a held order changes nothing here
    return _apply(order, "place_on_hold", actor=actor, reason=require_reason(reason))


def _save_lines(lines: list[OrderLine], fields: list[str], *, actor, reason: str) -> None:
    """Save changed lines in one UPDATE and their history rows in one INSERT (the per-line
    ``save()`` cost two round trips a line on every shipment and invoice)."""
    if not lines:
        return
    for line in lines:  # the history rows' author and reason, as a save() would record them
        line._history_user = actor
        line._change_reason = reason
    OrderLine.objects.bulk_update(lines, fields)
    OrderLine.history.bulk_history_create(
        lines, update=True, default_user=actor, default_change_reason=reason
    )


def _record_quantities(
    order: Order, quantities: dict[int, Decimal], field: str, actor, reason: str
):
    # prefetched: the transition's conditions (fully shipped? invoiced?) read these same,
    # updated lines instead of querying them again for each check
    prefetch_related_objects([order], "lines")
    lines = {line.pk: line for line in order.lines.all()}
    unknown = set(quantities) - lines.keys()
    if unknown:
        raise ApplicationError(
            "Quantities name lines that are not on this order.", {"lines": sorted(unknown)}
        )
    if any(quantity < 0 for quantity in quantities.values()):
        line_id = next(pk for pk, quantity in quantities.items() if quantity < 0)
        raise ApplicationError("Quantities cannot be negative.", {"line": line_id})
    for line_id, quantity in quantities.items():
        line = lines[line_id]
        setattr(line, field, getattr(line, field) + quantity)
    _save_lines([lines[pk] for pk in quantities], [field], actor=actor, reason=reason)


@transaction.atomic
def order_record_shipment(
    *, actor, order_id: int, quantities: dict[int, Decimal], reason: str
) -> Order:
    """Add shipped quantities per line, then move the order to shipped or partially shipped."""
    order = _lock_order(order_id=order_id, actor=actor)
    if order.state not in {
        OrderState.ALLOCATED,
        OrderState.PARTIALLY_SHIPPED,
        OrderState.PARTIALLY_INVOICED,
    }:
        raise Conflict(
            f"Order {order.number} is {order.get_state_display().lower()}; it cannot ship."
        )
    _record_quantities(order, quantities, "shipped_qty", actor, reason)
    name = "ship" if order.fully_shipped() else "ship_partially"
    return _apply(order, name, actor=actor, reason=require_reason(reason))


@transaction.atomic
def order_record_invoice(
    *, actor, order_id: int, quantities: dict[int, Decimal], reason: str
) -> Order:
    """Add invoiced quantities per line, then move the order to invoiced or partially invoiced."""
    order = _lock_order(order_id=order_id, actor=actor)
    if order.state not in {
        OrderState.SHIPPED,
        OrderState.PARTIALLY_SHIPPED,
        OrderState.PARTIALLY_INVOICED,
    }:
        raise Conflict(
            f"Order {order.number} is {order.get_state_display().lower()}; it cannot be invoiced."
        )
    _record_quantities(order, quantities, "invoiced_qty", actor, reason)
    name = "invoice" if order.fully_invoiced() else "invoice_partially"
    return _apply(order, name, actor=actor, reason=require_reason(reason))


@transaction.atomic
def order_line_set_price(
    *, actor, order_id: int, line_id: int, unit_price: Decimal, reason: str
) -> OrderLine:
    """Pricing's correction of one line's price; the order is re-evaluated after commit."""
    _require_writer(actor, Role.PRICING, Role.CUSTOMER_SERVICE)
    reason = require_reason(reason)
    if unit_price is None or unit_price < 0:
        raise ApplicationError("Enter a price of zero or more.", {"field": "unit_price"})
    order = _lock_order(order_id=order_id, actor=actor)
    line, lines = _editable_line(order, line_id)
    line.unit_price = unit_price
    _note_price_override(line, actor)
    _save_line_change(order, line, lines, actor, reason)
    return line


@transaction.atomic
def order_line_accept_price(*, actor, order_id: int, line_id: int, reason: str) -> OrderLine:
    """A person accepted a line's off-contract price (a pricing hold overridden): they own it now,
    for finance's maker-checker."""
    _require_writer(actor, Role.PRICING, Role.CUSTOMER_SERVICE)
    reason = require_reason(reason)
    order = _lock_order(order_id=order_id, actor=actor)
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
def order_line_close_short(*, actor, order_id: int, line_id: int, reason: str) -> OrderLine:
    """After a short shipment, close the line at what shipped: nothing more ships or invoices for
    it, and the order moves on to shipped (or invoiced) if that was all it waited for."""
    _require_writer(actor, Role.WAREHOUSE)
    reason = require_reason(reason)
    order = _lock_order(order_id=order_id, actor=actor)
    lines = list(order.lines.select_related("item"))
    line = next((line for line in lines if line.pk == line_id), None)
    if line is None or line.cancelled:
        raise ApplicationError("That line is not open on this order.", {"field": "line"})
    if line.short_closed:
        raise Conflict(f"Line {line.line_number} is already closed short.")
    if line.shipped_qty >= line.ordered_qty:
        raise Conflict(f"Line {line.line_number} shipped in full; there is nothing to close.")
    if order.state not in SHIPPED_SO_FAR:
        raise Conflict(
            f"Order {order.number} is {order.get_state_display().lower()}; "
            "only a line of a shipping order can be closed short."
        )
    line.short_closed = True
    line._history_user = actor
    line._change_reason = reason
    line.save(update_fields=["short_closed"])
    _settle_state(order, actor=actor, reason=reason)
    return line


#: States in which some of the order has shipped and more may still ship or invoice.
SHIPPED_SO_FAR = {
    OrderState.PARTIALLY_SHIPPED,
    OrderState.SHIPPED,
    OrderState.PARTIALLY_INVOICED,
}


def _settle_state(order: Order, *, actor, reason: str) -> None:
    """Move the order as far as its lines now allow: shipped in full, then invoiced in full. These
    steps follow from the facts, so the system takes them (the line change names the person)."""
    system = get_system_user()
    if order.state == OrderState.PARTIALLY_SHIPPED and order.fully_shipped():
        _apply(order, "ship", actor=system, reason=reason)
    if order.state in {OrderState.SHIPPED, OrderState.PARTIALLY_INVOICED} and (
        order.fully_invoiced()
    ):
        _apply(order, "invoice", actor=system, reason=reason)


@transaction.atomic
def order_set_ship_to(*, actor, order_id: int, ship_to_id: int, reason: str) -> Order:
    """Customer service fills in or corrects the ship-to; the order is re-evaluated after commit."""
    _require_writer(actor)
    reason = require_reason(reason)
    order = _lock_order(order_id=order_id, actor=actor)
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
    _require_writer(actor)
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
    _recalculate_totals(order, lines)
    _save_order_edit(order, actor, reason)


@transaction.atomic
def order_line_cancel(*, actor, order_id: int, line_id: int, reason: str) -> OrderLine:
    """Cancel one line (kept for the record); the rest of the order goes on."""
    _require_writer(actor, Role.WAREHOUSE, Role.CUSTOMER_SERVICE)
    reason = require_reason(reason)
    order = _lock_order(order_id=order_id, actor=actor)
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
    _require_writer(actor, Role.WAREHOUSE, Role.CUSTOMER_SERVICE)
    reason = require_reason(reason)
    order = _lock_order(order_id=order_id, actor=actor)
    line, lines = _editable_line(order, line_id)
    item = items_by_sku([(sku or "").strip().upper()]).get((sku or "").strip().upper())
    if item is None:
        raise ApplicationError(f"Unknown SKU “{sku}”.", {"field": "sku"})
    if item.pk == line.item_id:
        raise ApplicationError("That is already the line's item.", {"field": "sku"})
    contract = _contract_prices(order.customer, [item.pk], timezone.now().date())
    line.item = item
    line.contract_price = contract.get(item.pk)
    line.unit_price = contract.get(item.pk, item.list_price)
    _save_line_change(order, line, lines, actor, reason)
    return line
