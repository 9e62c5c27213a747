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
customers' recent orders, their lines and their headers: three queries whatever its size, one
when the hold rules pass the first two), each order of a batch sees the batch's earlier orders
of its customer, as if judged one at a time, and the batch's features are worked out at once
with numpy (``batch_compared``), equal to ``compare``'s for each order alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from statistics import median
from typing import NamedTuple

from django.db import connection
from django.utils import timezone

from exceptions.facts import recent_lines, recent_orders
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


def shape_of(total, received_at: datetime, ship_to_id, lines, *, hour: int | None = None) -> Shape:
    """``lines``: (item id, quantity) pairs; ``hour``: the local hour received, when known."""
    per_item: dict[int, float] = {}
    for item, quantity in lines:
        per_item[item] = per_item.get(item, 0.0) + float(quantity)
    return _shape(max(float(total or 0), 0.0), len(lines), sum(per_item.values()),
                  tuple(item for item, _ in lines), ship_to_id,
                  _hour(received_at) if hour is None else hour, per_item)  # fmt: skip


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


def _history_shapes(ids: list[int], lines: list | None = None) -> dict[int, Shape]:
    """The shapes of these stored orders, those with lines (a header-only order says nothing of
    its shape, and training leaves it out as well). ``lines``: their lines as (order id, item
    id, ordered quantity, cancelled), as the hold rules read them for the quantity rule (others'
    lines may be among them); read here when not given. The orders' headers are one read by
    primary key: joining them to their lines and grouping in SQL took four times as long, and
    the rules read the lines anyway."""
    if not ids:
        return {}
    if lines is None:
        lines = recent_lines(ids)
    wanted = set(ids)
    of: dict[int, tuple[list, list]] = {}
    for order_id, item, quantity, cancelled in lines:
        if cancelled or order_id not in wanted:
            continue
        got = of.get(order_id)
        if got is None:
            of[order_id] = got = ([], [])
        got[0].append(item)
        got[1].append(quantity)
    if not of:
        return {}
    shapes = {}
    for pk, total, ship_to, hour in _headers(list(of)):
        items, quantities = of[pk]
        # the quantities summed exactly, then made a double: as PostgreSQL's sum()::float8 did
        quantity, count = float(sum(quantities)), len(items)
        shapes[pk] = Shape(total, count, quantity, tuple(items), ship_to, hour,
                           (_log(total), _log(count), _log(quantity)))  # fmt: skip
    return shapes


def _headers(ids: list[int]) -> list[tuple[int, float, int | None, int]]:
    """(id, total (never below zero), ship-to id, local hour received) of these orders."""
    if connection.vendor != "postgresql":
        return [
            (pk, max(float(total or 0), 0.0), ship_to, _hour(received))
            for pk, total, received, ship_to in Order.objects.filter(pk__in=ids).values_list(
                "pk", "total", "received_at", "ship_to_id"
            )
        ]
    quote, meta = connection.ops.quote_name, Order._meta

    def col(name: str) -> str:
        return quote(meta.get_field(name).column)

    # identifiers from the model's metadata only; the ids are one parameter, an array's text
    # (psycopg quotes a list's elements one by one in Python: 3 ms for 4,000 ids; the ids are
    # ints, so the text is only digits and commas). The hour in the site's time zone by
    # PostgreSQL: in Python it was a tenth of the features' time.
    sql = (
        f"SELECT {col('id')}, greatest({col('total')}, 0)::float8, {col('ship_to')}, "  # noqa: S608
        f"extract(hour FROM {col('received_at')} AT TIME ZONE %s)::int "
        f"FROM {quote(meta.db_table)} WHERE {col('id')} = ANY(%s::bigint[])"
    )
    array = "{" + ",".join(str(int(pk)) for pk in ids) + "}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [timezone.get_current_timezone_name(), array])
        return cursor.fetchall()


def batch_compared(
    orders: list[Order],
    lines_of: dict[int, list],
    *,
    recent: dict | None = None,
    lines: list | None = None,
) -> dict[int, Compared]:
    """Each order of a batch against its customer's history as of its receipt, as ``compare``
    judges one order (the same figures), for the whole batch at once.

    The history: the customers' recent orders before the batch's first and their shapes (three
    reads on PostgreSQL; one when the caller passes ``recent``, each customer's last orders
    before the batch, newest first, and ``lines``, theirs), then the batch walked in its order,
    each order joining its customer's history for the ones after it. The features are then
    worked out with numpy over every order's window of history at once (``_windows``): one at
    a time in Python they cost ~30 µs an order. ``quantity_ratio`` (training's baseline) is not
    worked out: 0."""
    if recent is None:
        customer_ids = {order.customer_id for order in orders}
        before = min(order.received_at for order in orders)
        recent, lines = recent_orders(customer_ids, before, HISTORY), None
    shapes = _history_shapes([pk for pks in recent.values() for pk in pks[:HISTORY]], lines)
    pool: list[Shape] = []  # every shape the batch reads: the history's, then the batch's
    sequence: dict[int, list[int]] = {}  # each customer's shapes in ``pool``, oldest first
    for customer, pks in recent.items():
        known = [shapes[pk] for pk in reversed(pks[:HISTORY]) if pk in shapes]
        sequence[customer] = list(range(len(pool), len(pool) + len(known)))
        pool += known
    zone = timezone.get_current_timezone()
    judged, windows = [], []
    for order in orders:
        received = order.received_at
        shape = shape_of(
            order.total, received, order.ship_to_id,
            [(line.item_id, line.ordered_qty) for line in lines_of.get(order.pk, ())],
            hour=received.astimezone(zone).hour if timezone.is_aware(received) else 12,
        )  # fmt: skip
        mine = sequence.setdefault(order.customer_id, [])
        if len(mine) >= MIN_HISTORY:
            judged.append((order.pk, len(pool)))
            windows.append(mine[-HISTORY:])
        mine.append(len(pool))
        pool.append(shape)
    if not judged:
        return {}
    figures = _windows(pool, windows, [at for _, at in judged])
    return {
        pk: Compared(dict(zip(NUMERIC, row, strict=True)), pool[at], *usual, 0.0)
        for (pk, at), row, usual in zip(judged, figures[0], figures[1], strict=True)
    }


def _windows(pool: list[Shape], windows: list[list[int]], own: list[int]):
    """``compare`` for many orders at once: ``own[r]``, a shape in ``pool``, against the shapes
    ``windows[r]`` (its customer's last ``MIN_HISTORY`` to ``HISTORY``, oldest first). Returns
    (each order's features in ``NUMERIC`` order, as floats; each order's usual total, lines
    and quantity, its new items, near hours and history length).

    Every figure is the same floating-point operation ``compare`` does, in the same order (sums
    taken column by column, oldest first, not numpy's pairwise ones), so the features are the
    same to the last bit, which matters: the forest compares them as float32."""
    import numpy as np

    m = len(windows)
    n = np.array([len(w) for w in windows])
    at = np.full((m, HISTORY), -1, dtype=np.int64)
    for r, window in enumerate(windows):
        at[r, : len(window)] = window
    valid = at >= 0
    slot = np.where(valid, at, 0)
    rows = np.arange(m)
    lower, upper = (n - 1) // 2, n // 2  # the median's two middle values (one when n is odd)

    def median(values):
        ordered = np.sort(np.where(valid, values, np.inf), axis=1)
        return (ordered[rows, lower] + ordered[rows, upper]) / 2

    def column_sum(values):
        total = np.zeros(m)
        for j in range(HISTORY):
            total = total + np.where(valid[:, j], values[:, j], 0.0)
        return total

    own_at = np.asarray(own)
    totals, lines, quantities, items, ship_tos, hours, logs, _ = zip(*pool, strict=True)
    all_logs = np.array(logs)
    deviations, usuals = [], []
    for k, values in enumerate((totals, lines, quantities)):
        logs = all_logs[:, k]
        usual = median(np.array(values, dtype=np.float64)[slot])
        centre = np.array([_log(u) for u in usual.tolist()])  # math.log, as ``compare``
        spread = np.maximum(median(np.abs(logs[slot] - centre[:, None])), SPREAD_FLOOR)
        deviations.append((logs[own_at] - centre) / spread)
        usuals.append(usual)

    # items: how many of the window's orders hold each item (each order counted once however
    # many of its lines bring the item), each window apart
    counts = np.array(lines)  # a shape's lines are its items
    flat = np.fromiter(chain.from_iterable(items), dtype=np.int64, count=int(counts.sum()))
    start = np.concatenate(([0], np.cumsum(counts)))
    width = int(flat.max(initial=0)) + 1

    def spread_out(cells, starts, sizes):
        """For each cell (a pool shape), the indexes of its items in the flat array."""
        size = sizes[cells]
        owner = np.repeat(np.arange(len(cells)), size)
        offset = np.arange(size.sum()) - np.repeat(np.cumsum(size) - size, size)
        return owner, starts[cells][owner] + offset

    cell_row, cell_slot = np.nonzero(valid)
    cells = at[cell_row, cell_slot]
    owner, where = spread_out(cells, start, counts)
    # (window, item, order of the window): once each, then counted per (window, item)
    # (sorted and deduplicated by hand: np.unique hashes, three times slower on these sizes)
    held_by = np.sort((cell_row[owner] * width + flat[where]) * HISTORY + cell_slot[owner])
    pairs = held_by[np.concatenate(([True], held_by[1:] != held_by[:-1]))] // HISTORY
    first = np.flatnonzero(np.concatenate(([True], pairs[1:] != pairs[:-1])))
    keys, in_orders = pairs[first], np.diff(np.append(first, len(pairs)))

    def held(row, items):
        """How many of the window's orders hold each item, 0 for none."""
        key = row * width + items
        if not len(keys):  # no order of any window has a line
            return np.zeros(len(key), dtype=np.int64)
        found = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
        return np.where(keys[found] == key, in_orders[found], 0)

    once = held(cell_row[owner], flat[where]) == 1
    singles = np.bincount(owner, weights=once, minlength=len(cells))
    sizes = counts[cells]
    share = np.zeros((m, HISTORY))
    share[cell_row, cell_slot] = np.where(sizes > 0, singles / np.maximum(sizes, 1), 0.0)
    usual_new = column_sum(share) / n
    owner, where = spread_out(own_at, start, counts)
    new_items = np.bincount(owner, weights=held(owner, flat[where]) == 0, minlength=m)
    new_items = new_items.astype(np.int64)
    own_lines = counts[own_at]
    own_new = np.where(own_lines > 0, new_items / np.maximum(own_lines, 1), 0.0) - usual_new

    # ship-tos: None is a ship-to of its own among the window's (as a dict key), never new
    ship = np.array([-1 if s is None else s for s in ship_tos], dtype=np.int64)
    window_ship = np.where(valid, ship[slot], -2)
    same = (window_ship[:, :, None] == window_ship[:, None, :]) & valid[:, None, :]
    used_once = (same.sum(axis=2) == 1) & valid
    own_ship = ship[own_at]
    new_ship_to = ((own_ship != -1) & ~(window_ship == own_ship[:, None]).any(axis=1)) * 1.0
    ship_feature = new_ship_to - used_once.sum(axis=1) / n

    # hours: orders of the window within NEAR_HOURS of each hour of the day
    hour = np.array(hours, dtype=np.int64)
    per_hour = np.bincount(cell_row * 24 + hour[cells], minlength=m * 24).reshape(m, 24)
    near = sum(np.roll(per_hour, -d, axis=1) for d in range(-NEAR_HOURS, NEAR_HOURS + 1))
    near_own = near[rows, hour[own_at]]
    usual_rarity = column_sum(1.0 - (near[rows[:, None], hour[slot]] - 1) / (n - 1)[:, None]) / n
    hour_feature = (1.0 - near_own / n) - usual_rarity

    features = np.column_stack([*deviations, own_new, ship_feature, hour_feature])
    usual = zip(*(u.tolist() for u in usuals), new_items.tolist(), near_own.tolist(), n.tolist(),
                strict=True)  # fmt: skip
    return features.tolist(), list(usual)


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
