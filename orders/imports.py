"""Set-based order import: a batch of upstream orders stored in a fixed number of queries.

The per-order service (``order_create``) costs some forty queries and two transactions an order;
a feed arriving in bursts needs the whole batch validated against master data in a handful of
reads, then orders, lines and their history inserted in bulk. Each order is refused or stored on
its own terms: a bad one is named with its reason and the rest go in. The caller evaluates the
accepted orders and concludes them (``orders_conclude_import``) in the same transaction, which
inserts each order's row once, in the state its evaluation gave it.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

from django.db import transaction
from django.db.models import Q

from core.audit import set_state_for_insert
from core.errors import require_reason
from core.money import ZERO, line_amount
from core.pgcopy import (
    allocate_ids,
    copy_create,
    copy_create_with_history,
    copy_history,
    maker,
)

from .models import Customer, Order, OrderLine, OrderState, PriceAgreement, ShipTo
from .selectors import items_by_sku
from .services import ORDER_TOTAL_DIGITS, LineInput


@dataclass(frozen=True)
class OrderImport:
    """One upstream order, as the integration mapped it (customer by its external id)."""

    external_id: str
    number: str
    channel: str
    customer: str
    ship_to: str
    requested_date: date | None
    currency: str
    lines: tuple[LineInput, ...]
    correlation_id: UUID
    reason: str = "Imported"
    #: the source system whose external id ``customer`` is, when not the order's own (an EDI
    #: partner's orders name the ERP's customer)
    customer_source: str = ""


@dataclass
class ImportResult:
    #: accepted orders, in the order given, each with ``imported_lines`` (its OrderLine objects,
    #: stored) and its id; the orders' own rows are inserted by ``orders_conclude_import``
    created: list[Order] = field(default_factory=list)
    #: external id -> why it was refused (nothing of it was stored)
    rejected: dict[str, str] = field(default_factory=dict)
    #: external ids already stored by an earlier delivery: a repeat changes nothing
    repeated: set[str] = field(default_factory=set)


QTY_PLACES = OrderLine._meta.get_field("ordered_qty").decimal_places
PRICE_PLACES = OrderLine._meta.get_field("unit_price").decimal_places


def _scaled(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _contract_prices(pairs: set[tuple[int, int]], on: date) -> dict[tuple[int, int], Decimal]:
    """The agreed price in force per (customer, item), newest agreement first, in one read."""
    if not pairs:
        return {}
    customers = {c for c, _ in pairs}
    items = {i for _, i in pairs}
    prices: dict[tuple[int, int], Decimal] = {}
    for customer_id, item_id, price in (
        PriceAgreement.objects.filter(
            customer_id__any=customers, item_id__any=items, valid_from__lte=on
        )
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))
        .order_by("customer_id", "item_id", "-valid_from")
        .values_list("customer_id", "item_id", "contract_price")
    ):
        if (customer_id, item_id) in pairs:
            prices.setdefault((customer_id, item_id), price)
    return prices


def _customer_key(record: OrderImport, source: str) -> tuple[str, str]:
    return record.customer_source or source, record.customer


def _refusal(record: OrderImport, source: str, customers, items, numbers_taken) -> str | None:
    """Why this order cannot be stored, worded like the per-order service's dead letters."""
    if _customer_key(record, source) not in customers:
        return f"customer: unknown “{record.customer}”"
    if not record.lines:
        return "lines: An order needs at least one line."
    unknown = sorted({line.sku for line in record.lines} - items.keys())
    if unknown:
        return f"lines.sku: unknown {', '.join(unknown)}"
    for line in record.lines:
        if line.quantity <= 0:
            return "Quantities must be greater than zero."
        if line.unit_price is not None and line.unit_price < 0:
            return "Prices cannot be negative."
    if record.number in numbers_taken:
        return f"Order number {record.number} is already taken."
    return None


@transaction.atomic
def orders_import(*, actor, source: str, records: list[OrderImport], now: datetime) -> ImportResult:
    """Accept new orders (state received): their ids taken, their lines and "received" history
    stored; the orders' rows follow in ``orders_conclude_import``. Reads: existing orders,
    customers, ship-tos, items, contract prices, taken numbers; writes: lines, and the orders'
    and lines' history, in bulk. Orders are stamped a microsecond apart, in the order given, so the rules'
    "orders before this one" keeps the feed's order."""
    result = ImportResult()
    stored = set(
        Order.objects.filter(
            source_system=source, external_id__any=[r.external_id for r in records]
        ).values_list("external_id", flat=True)
    )
    fresh, seen = [], set()
    for record in records:
        if record.external_id in stored or record.external_id in seen:
            result.repeated.add(record.external_id)
        else:
            seen.add(record.external_id)
            fresh.append(record)
    refs = defaultdict(set)
    for record in fresh:
        refs[record.customer_source or source].add(record.customer)
    customers = {
        (c.source_system, c.external_id): c
        for named, wanted in refs.items()
        for c in Customer.objects.filter(source_system=named, external_id__any=wanted)
    }
    ship_tos = {
        (customer_id, code): pk
        for pk, customer_id, code in ShipTo.objects.filter(
            customer_id__any=[customer.pk for customer in customers.values()],
            code__any={r.ship_to for r in fresh if r.ship_to},
        ).values_list("pk", "customer_id", "code")
    }
    items = items_by_sku(list({line.sku for r in fresh for line in r.lines}))
    numbers_taken = set(
        Order.objects.filter(number__any=[r.number for r in fresh]).values_list("number", flat=True)
    )
    accepted = []
    for record in fresh:
        why = _refusal(record, source, customers, items, numbers_taken)
        if why is None:
            numbers_taken.add(record.number)  # a second order of the batch with it is refused
            accepted.append(record)
        else:
            result.rejected[record.external_id] = why
    contract = _contract_prices(
        {
            (customers[_customer_key(r, source)].pk, items[line.sku].pk)
            for r in accepted
            for line in r.lines
        },
        now.date(),
    )
    orders, lines_of = [], {}
    new_order, new_line = (
        maker(Order, "customer", "entered_by", "last_edited_by"),
        maker(OrderLine, "item"),
    )
    for index, record in enumerate(accepted):
        customer = customers[_customer_key(record, source)]
        order = new_order(
            number=record.number,
            channel=record.channel,
            customer=customer,
            # an unknown ship-to code leaves it empty, for the master-data rule to hold
            ship_to_id=ship_tos.get((customer.pk, record.ship_to)),
            requested_date=record.requested_date,
            currency=record.currency,
            received_at=now + timedelta(microseconds=index),
            entered_by=actor,
            last_edited_by=actor,
            source_system=source,
            external_id=record.external_id,
            correlation_id=record.correlation_id,
        )
        lines = []
        for number, line in enumerate(record.lines, start=1):
            item = items[line.sku]
            agreed = contract.get((customer.pk, item.pk))
            price = line.unit_price if line.unit_price is not None else agreed
            lines.append(
                new_line(
                    line_number=number,
                    item=item,
                    # at the columns' scale, as the database keeps them: the rules and the WMS
                    # instruction read these objects, not rows read back
                    ordered_qty=_scaled(line.quantity, QTY_PLACES),
                    unit_price=_scaled(item.list_price if price is None else price, PRICE_PLACES),
                    contract_price=agreed,
                )
            )
        order.subtotal = sum((line_amount(li.ordered_qty, li.unit_price) for li in lines), ZERO)
        order.total = order.subtotal + order.tax_total
        if order.total.adjusted() >= ORDER_TOTAL_DIGITS:
            result.rejected[record.external_id] = (
                f"lines: The order's value ({order.total:,.2f}) is beyond what an order can hold."
            )
            continue
        order._history_user = actor
        order._change_reason = record.reason
        order._history_date = order.received_at
        orders.append(order)
        lines_of[record.external_id] = lines
    if not orders:
        return result
    # The orders' rows are inserted when concluded, in the state their evaluation gives them
    # (orders_conclude_import): inserting them received and updating each one moments later
    # wrote every order row and its index entries twice. Their ids are taken now, so their
    # lines and "received" history go in first (foreign keys are checked at commit).
    for order, pk in zip(orders, allocate_ids(Order, len(orders)), strict=True):
        order.pk = pk
    copy_history(Order, orders, default_user=actor, default_change_reason=None)
    all_lines = []
    for order in orders:
        order.imported_lines = lines_of[order.external_id]
        for line in order.imported_lines:
            line.order = order
            line._history_user = actor
            line._change_reason = order._change_reason
            all_lines.append(line)
    copy_create_with_history(OrderLine, all_lines, default_user=actor)
    result.created = orders
    return result


@transaction.atomic
def orders_conclude_import(
    *, actor, orders: list[Order], held: set[int], at: datetime, reasons: dict[str, str]
) -> list[Order]:
    """Insert freshly imported, evaluated orders in the state they move on to: those with a
    release-blocking hold (ids in ``held``) on hold, the rest released (touchless), each with the
    history row of that move after its "received" one; returns the released orders. The caller
    sends released orders to the WMS in the same transaction (the per-order path does it
    through ``order_transitioning``)."""
    moved = defaultdict(list)
    for order in orders:
        if order.state != OrderState.RECEIVED:
            raise ValueError(f"Order {order.number} was concluded already.")
        # The same moves as place_on_hold() and release(at); set directly because the caller has
        # just computed every hold of these orders, so the release guard (a query per order)
        # would only re-read what it knows.
        if order.pk in held:
            set_state_for_insert(order, OrderState.ON_HOLD)
            order._change_reason = require_reason(reasons["held"])
        else:
            set_state_for_insert(order, OrderState.RELEASED)
            order.released_at = at
            order._change_reason = require_reason(reasons["released"])
        order._history_user = actor
        order._history_date = at
        moved[order.state].append(order)
    copy_create(Order, orders)
    for group in moved.values():
        copy_history(Order, group, update=True, default_user=actor)
    return moved[OrderState.RELEASED]
