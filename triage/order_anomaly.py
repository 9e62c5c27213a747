"""The order-anomaly model's features: how unlike the customer's own recent orders an order is, as
of its receipt (never later data), measured against how much those orders vary among themselves.
Each order is set against the customer's last ``HISTORY`` orders received before it (cancelled
ones, and header-only ones, left out):

- the amount, the number of lines and the total quantity: the log of the ratio to the customer's
  median, over how far the customer's own orders stray from it (their median absolute deviation
  in logs, at least ``SPREAD_FLOOR``): a customer whose orders vary twofold is not unusual at
  twice its median, a very regular one is;
- the share of lines whose item is in none of those orders, less how often the customer's own
  orders bring an item the others lack (a customer who orders something different each time is
  not unusual for doing it again);
- a ship-to none of them used (1 or 0), less the share of them sent to a ship-to used only once;
- how rarely the customer orders at that hour (the share of those orders not received within
  ``NEAR_HOURS`` of it, local time), less how scattered the customer's own hours are.

An order with fewer than ``MIN_HISTORY`` earlier orders has nothing to be compared with and is not
scored, as the quantity rule skips an item with no history. A batch is read set-wise (the
customers' recent orders, then their shapes: two queries whatever its size), and each
order of a batch sees the batch's earlier orders of its customer, as if judged one at a time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from statistics import median
from typing import NamedTuple

from django.db import connection
from django.utils import timezone

from exceptions.facts import recent_orders
from exceptions.models import Hold, HoldState
from orders.models import Order, OrderLine, OrderState

#: The customer's orders an order is compared with: its last this many.
HISTORY = 10
#: Fewer earlier orders than this: nothing to compare with, no score.
MIN_HISTORY = 3
#: Received within this many hours of a usual hour is usual.
NEAR_HOURS = 2
#: The least spread (in logs) a customer's amounts, lines and quantities are judged against:
#: 0.25 is about ±28 %, so a perfectly regular customer is not unusual for a small change.
SPREAD_FLOOR = 0.25
NUMERIC = (
    "amount_deviation",
    "lines_deviation",
    "quantity_deviation",
    "new_items",
    "new_ship_to",
    "hour_rarity",
)
#: Holds whose rejection by a person marks an order as truly anomalous (the held-out label).
ANOMALY_REASONS = ("QUANTITY_ANOMALY", "ORDER_ANOMALY")


class Shape(NamedTuple):
    """What the model reads of one order: its amount, lines, quantities, items, ship-to, hour,
    and the first three in logs (worked out once: an order is history for the customer's next
    ten). A tuple, not a dataclass: ingestion makes one for each of ten history orders a
    customer of a batch has."""

    total: float
    lines: int
    quantity: float
    items: tuple
    ship_to: int | None
    hour: int
    logs: tuple[float, float, float]
    #: item id -> quantity ordered; only training reads it (for the quantity rule's baseline),
    #: so the history read while scoring leaves it empty
    item_quantities: dict = {}  # never changed: a shape is only read


def _shape(total: float, lines: int, quantity: float, items, ship_to, hour: int, per_item=None):
    return Shape(total, lines, quantity, items, ship_to, hour,
                 (_log(total), _log(lines), _log(quantity)), per_item or {})  # fmt: skip


def _hour(received_at: datetime) -> int:
    return timezone.localtime(received_at).hour if timezone.is_aware(received_at) else 12


def shape_of(total, received_at: datetime, ship_to_id, lines) -> Shape:
    """``lines``: (item id, quantity) pairs."""
    per_item: dict[int, float] = {}
    for item, quantity in lines:
        per_item[item] = per_item.get(item, 0.0) + float(quantity)
    return _shape(max(float(total or 0), 0.0), len(lines), sum(per_item.values()),
                  tuple(item for item, _ in lines), ship_to_id, _hour(received_at), per_item)  # fmt: skip


@dataclass
class Compared:
    """One order against its customer's history: the features, and the figures behind them."""

    features: dict[str, float]
    shape: Shape
    usual_total: float
    usual_lines: float
    usual_quantity: float
    new_items: int
    near_hour: int
    history: int
    #: the quantity rule's own view, for the baseline: the largest line quantity over the
    #: customer's median quantity of that item (0 when no line's item has history)
    quantity_ratio: float

    def vector(self) -> list[float]:
        return [self.features[name] for name in NUMERIC]


def _log(value: float) -> float:
    return math.log(value + 1.0)


def _deviation(value: float, logs: list[float], earlier: list[float]) -> tuple[float, float]:
    """(how far ``value`` is from the median of ``earlier``, in the customer's own spreads; that
    median). ``logs``: ``earlier`` in logs."""
    usual = median(earlier)
    centre = _log(usual)
    spread = max(median([abs(v - centre) for v in logs]), SPREAD_FLOOR)
    return (_log(value) - centre) / spread, usual


def compare(shape: Shape, history: list[Shape]) -> Compared | None:
    """``shape`` against ``history`` (the customer's earlier orders, any order), or None when
    there are too few to compare with."""
    history = history[-HISTORY:]
    n = len(history)
    if n < MIN_HISTORY:
        return None
    logs = [h.logs for h in history]  # computed once per shape
    amount, usual_total = _deviation(shape.total, [x[0] for x in logs], [h.total for h in history])
    lines, usual_lines = _deviation(shape.lines, [x[1] for x in logs], [h.lines for h in history])
    quantity, usual_quantity = _deviation(
        shape.quantity, [x[2] for x in logs], [h.quantity for h in history]
    )
    # how novel the customer's own orders are, each against the others (leave one out): an item
    # or ship-to found in one order only, an hour no other order came near
    in_orders: dict[int, int] = {}
    ship_tos: dict = {}
    hours = [0] * 24
    for h in history:
        for item in set(h.items):
            in_orders[item] = in_orders.get(item, 0) + 1
        ship_tos[h.ship_to] = ship_tos.get(h.ship_to, 0) + 1
        hours[h.hour] += 1
    usual_new = (
        sum(sum(1 for item in h.items if in_orders[item] == 1) / len(h.items)
            for h in history if h.items) / n
    )  # fmt: skip
    usual_new_ship_to = sum(1 for h in history if ship_tos[h.ship_to] == 1) / n
    near_of: dict[int, int] = {}
    for hour in {shape.hour, *(h.hour for h in history)}:
        near_of[hour] = sum(hours[(hour + d) % 24] for d in range(-NEAR_HOURS, NEAR_HOURS + 1))
    usual_rarity = sum(1.0 - (near_of[h.hour] - 1) / (n - 1) for h in history) / n
    new_items = sum(1 for item in shape.items if item not in in_orders)
    near = near_of[shape.hour]
    ratio = 0.0
    for item, ordered in shape.item_quantities.items():
        earlier = [h.item_quantities[item] for h in history if item in h.item_quantities]
        if earlier and median(earlier) > 0:
            ratio = max(ratio, ordered / median(earlier))
    new_ship_to = 1.0 if shape.ship_to is not None and shape.ship_to not in ship_tos else 0.0
    features = {
        "amount_deviation": amount,
        "lines_deviation": lines,
        "quantity_deviation": quantity,
        "new_items": (new_items / shape.lines if shape.lines else 0.0) - usual_new,
        "new_ship_to": new_ship_to - usual_new_ship_to,
        "hour_rarity": (1.0 - near / n) - usual_rarity,
    }
    return Compared(features, shape, usual_total, usual_lines, usual_quantity, new_items, near,
                    n, ratio)  # fmt: skip


def words(compared: Compared, name: str, direction: str) -> str:
    """A feature of ``compared`` in business words, as people would say it."""
    c, s = compared, compared.shape
    if name == "amount_deviation":
        times = s.total / c.usual_total if c.usual_total else 0.0
        return (
            f"amount {s.total:,.2f} is {times:.1f}× this customer's usual {c.usual_total:,.2f}"
            if times >= 1
            else f"amount {s.total:,.2f} is below this customer's usual {c.usual_total:,.2f}"
        )
    if name == "lines_deviation":
        return f"{s.lines} lines where this customer usually orders {c.usual_lines:g}"
    if name == "quantity_deviation":
        return (
            f"{s.quantity:,.0f} units in all where this customer usually orders "
            f"{c.usual_quantity:,.0f}"
        )
    if name == "new_items":
        if c.new_items:
            return (
                f"{c.new_items} of {s.lines} lines are items this customer has not ordered in "
                f"its last {c.history} orders"
            )
        return "only items this customer orders"
    if name == "new_ship_to":
        if direction == "+":
            return f"a ship-to this customer has not used in its last {c.history} orders"
        return "one of this customer's usual ship-tos"
    if name == "hour_rarity":
        return (
            f"received at {s.hour:02d}:00; {c.near_hour} of this customer's last {c.history} "
            f"orders came within {NEAR_HOURS} hours of that"
        )
    raise KeyError(name)


def _history_shapes(ids: list[int]) -> dict[int, Shape]:
    """The shapes of these stored orders, those with lines (a header-only order says nothing of
    its shape, and training leaves it out as well). On PostgreSQL one grouped read of the orders
    with their lines counted, summed and their items gathered (a row an order, not a row a line:
    ingestion reads ten orders of history for each customer of a batch)."""
    if not ids:
        return {}
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        order, line = Order._meta, OrderLine._meta

        def col(meta, name: str) -> str:
            return quote(meta.get_field(name).column)

        # identifiers from the models' metadata only; the ids are one array parameter
        # in doubles: PostgreSQL's ln() of a numeric took 30 ms over 2,000 orders, of a double
        # under 1 ms
        total = f"greatest(o.{col(order, 'total')}, 0)::float8"
        quantity = f"sum(l.{col(line, 'ordered_qty')})::float8"
        # the hour in the site's time zone, and the logs, worked out by PostgreSQL: in Python
        # they were half the cost of reading 2,000 orders of history a batch
        sql = (
            f"SELECT o.{col(order, 'id')}, {total}, o.{col(order, 'ship_to')}, "  # noqa: S608
            f"count(*), {quantity}, array_agg(l.{col(line, 'item')}), "
            f"extract(hour FROM o.{col(order, 'received_at')} AT TIME ZONE %s)::int, "
            f"ln({total} + 1), ln(count(*) + 1::float8), ln({quantity} + 1) "
            f"FROM {quote(order.db_table)} o JOIN {quote(line.db_table)} l "
            f"ON l.{col(line, 'order')} = o.{col(order, 'id')} "
            f"WHERE o.{col(order, 'id')} = ANY(%s) AND NOT l.{col(line, 'cancelled')} "
            f"GROUP BY o.{col(order, 'id')}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [timezone.get_current_timezone_name(), ids])
            rows = cursor.fetchall()
        return {
            pk: Shape(total, count, quantity, items, ship_to, hour,
                      (log_total, log_count, log_quantity))
            for pk, total, ship_to, count, quantity, items, hour, log_total, log_count,
            log_quantity in rows
        }  # fmt: skip
    lines: dict[int, list] = {}
    for order_id, item, quantity in OrderLine.objects.filter(
        order_id__in=ids, cancelled=False
    ).values_list("order_id", "item_id", "ordered_qty"):
        lines.setdefault(order_id, []).append((item, quantity))
    return {
        pk: shape_of(total, received, ship_to, lines[pk])
        for pk, total, received, ship_to in Order.objects.filter(pk__in=list(lines)).values_list(
            "pk", "total", "received_at", "ship_to_id"
        )
    }


def batch_compared(
    orders: list[Order], lines_of: dict[int, list], *, recent: dict | None = None
) -> dict[int, Compared]:
    """Each order of a batch against its customer's history as of its receipt: the customers'
    recent orders before the batch's first, and their shapes (two reads on PostgreSQL; one when
    the caller passes ``recent``, each customer's last orders before the batch, newest first),
    then the batch walked in its order, each order joining its customer's history for the ones
    after it."""
    if recent is None:
        customer_ids = {order.customer_id for order in orders}
        before = min(order.received_at for order in orders)
        recent = recent_orders(customer_ids, before, HISTORY)
    shapes = _history_shapes([pk for pks in recent.values() for pk in pks[:HISTORY]])
    history: dict[int, list[Shape]] = {
        # oldest first, as the walk appends (new lists: ``recent`` may be the rules' own)
        customer: [shapes[pk] for pk in reversed(pks[:HISTORY]) if pk in shapes]
        for customer, pks in recent.items()
    }
    found = {}
    for order in orders:
        shape = shape_of(
            order.total, order.received_at, order.ship_to_id,
            [(line.item_id, line.ordered_qty) for line in lines_of.get(order.pk, ())],
        )  # fmt: skip
        mine = history.setdefault(order.customer_id, [])
        compared = compare(shape, mine)
        if compared is not None:
            found[order.pk] = compared
        mine.append(shape)
    return found


@dataclass
class Example:
    order_id: int
    received_at: datetime
    compared: Compared
    #: a person rejected an anomaly hold on it (or cancelled it under one): truly unusual
    anomalous: bool


#: Training reads at most this many of the most recent orders (their customers' history among
#: them): the weekly run stays bounded however long o2c has been in use.
TRAINING_ORDERS = 40_000


def training_examples(limit: int = TRAINING_ORDERS) -> list[Example]:
    """The most recent ``limit`` orders in the order they were received, each compared with its
    customer's orders before it within them. The label is what people decided on an anomaly hold
    (rejected: anomalous); it is never a feature. A cancelled order stays out of the history of
    the orders after it, as it does when scoring."""
    rows = list(
        Order.objects.order_by("-received_at", "-pk").values_list(
            "pk", "customer_id", "total", "received_at", "ship_to_id", "state"
        )[:limit]
    )
    rows.reverse()
    lines: dict[int, list] = {}
    ids = [row[0] for row in rows]
    for n in range(0, len(ids), 10_000):
        for order_id, item, quantity in OrderLine.objects.filter(
            order_id__any=ids[n : n + 10_000], cancelled=False
        ).values_list("order_id", "item_id", "ordered_qty"):
            lines.setdefault(order_id, []).append((item, quantity))
    rejected = set(
        Hold.objects.filter(reason__code__in=ANOMALY_REASONS, state=HoldState.REJECTED).values_list(
            "order_id", flat=True
        )
    )
    history: dict[int, list[Shape]] = {}
    examples = []
    for pk, customer, total, received, ship_to, state in rows:
        if pk not in lines:
            continue  # an order with no lines (a header only) says nothing of its shape
        shape = shape_of(total, received, ship_to, lines[pk])
        mine = history.setdefault(customer, [])
        compared = compare(shape, mine)
        if compared is not None:
            examples.append(Example(pk, received, compared, pk in rejected))
        if state != OrderState.CANCELLED:
            mine.append(shape)
            del mine[:-HISTORY]
    return examples
