"""The late-shipment model: for a released order, how likely it reaches the customer after its
requested date, and why, in business words, while there is still time to act.

An order is late when its last shipment arrived (delivered, by proof of delivery; else shipped)
after the requested date. Features, each as of the order's release (training never lets an order
see what happened after it was released):

- the slack: days from release to the requested date;
- the order's size: its lines and units;
- stock: whether it was held for stock (an inventory hold) before release;
- the warehouse's backlog: released orders at its warehouse not yet shipped;
- the carrier: the late share of orders carried by the customer's usual carrier (the one on its
  most recent shipment; an open order has no carrier yet);
- the customer: its earlier orders' late share.

Late shares are smoothed toward everyone's share, so a customer or carrier with little history
sits near the average instead of at 0 or 1."""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Sum
from django.utils import timezone

from exceptions.models import Hold
from orders.models import Order, OrderLine, OrderState
from orders.services import WATCHED_STATES

SMOOTHING = 3.0
NUMERIC = (
    "slack_days",
    "lines_log",
    "quantity_log",
    "stock_held",
    "backlog_log",
    "carrier_late_rate",
    "customer_late_rate",
)
#: Shipped in full: the outcome is known once the last shipment arrived.
DONE_STATES = (OrderState.SHIPPED, OrderState.INVOICED, OrderState.CLOSED)
#: Training reads at most this many of the most recent finished orders.
TRAINING_LIMIT = 60_000
#: The live tallies (customers', carriers') read finished orders of this many recent days.
TALLY_DAYS = 180
NO_CARRIER = ""


class Tally:
    """Finished orders counted per customer and per carrier: [orders, late]; and each customer's
    usual carrier (the one on its most recent arrival)."""

    def __init__(self) -> None:
        self.customers: dict[int, list[int]] = {}
        self.carriers: dict[str, list[int]] = {}
        self.usual: dict[int, str] = {}
        self.overall = [0, 0]

    def add(self, customer_id: int, carrier: str, late: bool) -> None:
        for counter in (self.customers.setdefault(customer_id, [0, 0]), self.overall):
            counter[0] += 1
            counter[1] += int(late)
        if carrier:
            counter = self.carriers.setdefault(carrier, [0, 0])
            counter[0] += 1
            counter[1] += int(late)
            self.usual[customer_id] = carrier

    def _rate(self, counter) -> float:
        n, late = counter or (0, 0)
        prior = (self.overall[1] + 1) / (self.overall[0] + 2)
        return (late + SMOOTHING * prior) / (n + SMOOTHING)

    def features(self, *, customer_id: int, slack: int, lines: int, units: float,
                 stock_held: bool, backlog: int) -> dict[str, float]:  # fmt: skip
        carrier = self.usual.get(customer_id, NO_CARRIER)
        return {
            "slack_days": float(max(min(slack, 60), -5)),
            "lines_log": math.log1p(max(lines, 0)),
            "quantity_log": math.log1p(max(units, 0.0)),
            "stock_held": 1.0 if stock_held else 0.0,
            "backlog_log": math.log1p(max(backlog, 0)),
            "carrier_late_rate": self._rate(self.carriers.get(carrier)),
            "customer_late_rate": self._rate(self.customers.get(customer_id)),
        }

    def words(self, customer_id: int) -> dict[str, str]:
        carrier = self.usual.get(customer_id, NO_CARRIER)
        n, late = self.carriers.get(carrier, (0, 0))
        mine, mine_late = self.customers.get(customer_id, (0, 0))
        return {
            "carrier": f"usual carrier {carrier}: {late} of its {n} recent orders arrived late"
            if carrier
            else "no earlier shipment says which carrier this customer uses",
            "customer": f"this customer's earlier orders: {mine_late} of {mine} arrived after "
            "the requested date"
            if mine
            else "no earlier order of this customer has arrived yet",
        }


@dataclass
class Example:
    order_id: int
    released_at: datetime
    arrived_at: datetime
    customer_id: int
    features: dict[str, float]
    late: bool


def arrivals_of(order_ids) -> dict[int, tuple[datetime, datetime, str]]:
    """order id -> (first shipped, last arrival, carrier of the last arrival)."""
    from billing.models import Shipment  # billing sits above exceptions, below triage

    found: dict[int, list] = {}
    for order_id, carrier, shipped, delivered in Shipment.objects.filter(
        order_id__in=order_ids
    ).values_list("order_id", "carrier", "shipped_at", "delivered_at"):
        arrived = delivered or shipped
        row = found.get(order_id)
        if row is None:
            found[order_id] = [shipped, arrived, carrier]
        else:
            row[0] = min(row[0], shipped)
            if arrived >= row[1]:
                row[1], row[2] = arrived, carrier
    return {k: tuple(v) for k, v in found.items()}


def _shape(order_ids) -> dict[int, tuple[int, float, int | None]]:
    """order id -> (lines, units, the warehouse of line 1: the order's warehouse), cancelled
    lines left out of the counts."""
    warehouse = dict(
        OrderLine.objects.filter(order_id__in=order_ids, line_number=1).values_list(
            "order_id", "warehouse_id"
        )
    )
    rows = (
        OrderLine.objects.filter(order_id__in=order_ids, cancelled=False)
        .values("order_id")
        .annotate(n=Count("pk"), units=Sum("ordered_qty"))
        .order_by()
    )
    return {
        r["order_id"]: (r["n"], float(r["units"] or 0), warehouse.get(r["order_id"])) for r in rows
    }


def _stock_held(order_ids, before: dict[int, datetime] | None = None) -> set[int]:
    """Orders held for stock (an inventory hold raised) before their release (or ever)."""
    held = set()
    for order_id, raised in Hold.objects.filter(
        order_id__in=order_ids, category="inventory"
    ).values_list("order_id", "raised_at"):
        if before is None or raised <= before.get(order_id, raised):
            held.add(order_id)
    return held


def training_examples(limit: int = TRAINING_LIMIT) -> list[Example]:
    """Finished orders, oldest release first, each with its features as of its release. The
    backlog counts every released order (finished or not) at the warehouse still unshipped."""
    done = list(
        Order.objects.filter(state__in=DONE_STATES, released_at__isnull=False,
                             requested_date__isnull=False)
        .order_by("-released_at", "-pk")
        .values_list("pk", "customer_id", "released_at", "requested_date")[:limit]
    )  # fmt: skip
    if not done:
        return []
    done.reverse()
    start = done[0][2]
    # every order released in the window, for the warehouses' backlog
    # (the most recent few times the limit: older orders' backlog may read a little short)
    window = Order.objects.filter(released_at__gte=start - timedelta(days=30))
    released = list(
        window.order_by("-released_at", "-pk").values_list("pk", "released_at")[: 4 * limit]
    )
    released.reverse()
    ids = window.values("pk")  # a subquery, not a list of every id
    shape, arrivals = _shape(ids), arrivals_of(ids)
    held = _stock_held([pk for pk, *_ in done], {pk: at for pk, _, at, _ in done})
    never = datetime.max.replace(tzinfo=start.tzinfo)
    backlog_at: dict[int, int] = {}
    waiting: dict[int | None, list[datetime]] = {}
    for pk, at in released:
        heap = waiting.setdefault(shape.get(pk, (0, 0, None))[2], [])
        while heap and heap[0] <= at:
            heapq.heappop(heap)
        backlog_at[pk] = len(heap)
        heapq.heappush(heap, arrivals[pk][0] if pk in arrivals else never)
    finished = [
        (pk, customer, at, requested, arrivals[pk])
        for pk, customer, at, requested in done
        if pk in arrivals
    ]
    by_arrival = sorted(finished, key=lambda r: (r[4][1], r[0]))
    tally, cursor, examples = Tally(), 0, []
    for pk, customer, at, requested, (_, arrived, _) in finished:
        while cursor < len(by_arrival) and by_arrival[cursor][4][1] < at:
            seen = by_arrival[cursor]
            tally.add(seen[1], seen[4][2], arrived_late(seen[3], seen[4][1]))
            cursor += 1
        lines, units, _ = shape.get(pk, (0, 0.0, None))
        features = tally.features(
            customer_id=customer, slack=(requested - timezone.localdate(at)).days, lines=lines,
            units=units, stock_held=pk in held, backlog=backlog_at.get(pk, 0),
        )  # fmt: skip
        examples.append(
            Example(pk, at, arrived, customer, features, arrived_late(requested, arrived))
        )
    return examples


def arrived_late(requested: date, arrived: datetime) -> bool:
    return timezone.localdate(arrived) > requested


def current_tally() -> Tally:
    """Orders finished in the last ``TALLY_DAYS`` days, by arrival: each customer's and carrier's
    late share, and each customer's usual carrier."""
    since = timezone.now() - timedelta(days=TALLY_DAYS)
    done = dict(
        (pk, requested)
        for pk, requested in Order.objects.filter(
            state__in=DONE_STATES, released_at__gte=since, requested_date__isnull=False
        ).values_list("pk", "requested_date")[:TRAINING_LIMIT]
    )
    customers = dict(Order.objects.filter(pk__in=list(done)).values_list("pk", "customer_id"))
    tally = Tally()
    for pk, (_, arrived, carrier) in sorted(
        arrivals_of(list(done)).items(), key=lambda kv: (kv[1][1], kv[0])
    ):
        tally.add(customers[pk], carrier, arrived_late(done[pk], arrived))
    return tally


def open_orders(limit: int, exclude_scored_by: int | None) -> list[tuple]:
    """Released, unshipped orders whose requested date has not passed, soonest first, skipping
    those the version already scored: (pk, customer id, requested date, released at)."""
    queryset = Order.objects.filter(
        state__in=WATCHED_STATES,
        requested_date__gte=timezone.localdate(),
        released_at__isnull=False,
    )
    if exclude_scored_by is not None:
        from .models import Prediction

        scored = Prediction.objects.filter(version_id=exclude_scored_by, subject="order_ship")
        queryset = queryset.exclude(pk__in=scored.values("subject_id"))
    return list(
        queryset.order_by("requested_date", "pk").values_list(
            "pk", "customer_id", "requested_date", "released_at"
        )[:limit]
    )


def live_features(rows: list[tuple], tally: Tally) -> dict[int, tuple[dict, dict, dict]]:
    """For open orders ``rows`` (``open_orders``): order id -> (features, words, facts), read
    set-wise: their lines, their stock holds, and their warehouses' backlog now."""
    ids = [r[0] for r in rows]
    shape = _shape(ids)
    held = _stock_held(ids)
    warehouses = {s[2] for s in shape.values()}
    backlog = {
        warehouse: n
        for warehouse, n in OrderLine.objects.filter(
            warehouse_id__in=[w for w in warehouses if w is not None],
            line_number=1,
            order__state__in=(OrderState.RELEASED, OrderState.ALLOCATED),
        )
        .values_list("warehouse_id")
        .annotate(n=Count("order_id", distinct=True))
        .order_by()
    }
    out = {}
    for pk, customer, requested, released in rows:
        lines, units, warehouse = shape.get(pk, (0, 0.0, None))
        # the order itself is among the unshipped at its warehouse: the backlog is the others
        waiting = max(backlog.get(warehouse, 0) - 1, 0)
        features = tally.features(
            customer_id=customer, slack=(requested - timezone.localdate(released)).days,
            lines=lines, units=units, stock_held=pk in held, backlog=waiting,
        )  # fmt: skip
        facts = {"lines": lines, "units": units, "backlog": waiting, "held": pk in held,
                 "slack": (requested - timezone.localdate(released)).days}  # fmt: skip
        out[pk] = (features, tally.words(customer), facts)
    return out


def vector(features: dict[str, float]) -> list[float]:
    return [features[name] for name in NUMERIC]
