"""The benchmark's data: deterministic (seeded) and fast (PostgreSQL COPY), with history rows that
follow the lifecycle (received, then the order's state) and open holds across the queues.

Scales: full = 10k customers, 50k items, 1M orders, 4M lines, 100k open holds; small = 1/10;
tiny = 1/1000 (CI's smoke run).
"""

import json
import random
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils import timezone

from core.roles import get_system_user
from exceptions.models import Hold, HoldReason
from insights import rollups
from orders.models import (
    ARBalance,
    Customer,
    InventoryPosition,
    Item,
    Order,
    OrderLine,
    ShipTo,
    Warehouse,
)

from .stats import analyze_filled

SOURCE = "bench"
SEED = 20261122


@dataclass(frozen=True)
class Scale:
    name: str
    customers: int
    items: int
    orders: int
    lines_per_order: int = 4

    @property
    def open_holds(self) -> int:
        return self.orders // 10


SCALES = {
    "full": Scale("full", 10_000, 50_000, 1_000_000),
    "small": Scale("small", 1_000, 5_000, 100_000),
    "tiny": Scale("tiny", 10, 50, 1_000),
}
#: Final states and their share; 10 % are on hold, one open hold each.
STATE_MIX = [
    ("on_hold", 10),
    ("released", 5),
    ("allocated", 5),
    ("shipped", 10),
    ("invoiced", 30),
    ("closed", 35),
    ("cancelled", 5),
]
HOLD_REASONS = [
    "CREDIT_LIMIT",
    "PRICE_BELOW_CONTRACT",
    "STOCK_SHORT",
    "MASTER_DATA_MISSING",
    "QUANTITY_ANOMALY",
]


def present(scale: Scale) -> bool | None:
    """True when this scale's data is there, False when none is, None when another scale's is."""
    count = Order.objects.filter(source_system=SOURCE).count()
    if count == 0:
        return False
    return True if count >= scale.orders else None


def _columns(model) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields]


def _copy(model, rows, *, skip: tuple[str, ...] = ()) -> int:
    """COPY dict rows (keyed by attname) into the model's table; unset columns take the field's
    default. Returns the number of rows."""
    fields = [f for f in _columns(model) if f.attname not in skip]
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    # A callable default (uuid4) is called per row; otherwise the field's own default ("" for a
    # blank CharField, None for a nullable one).
    defaults = {
        f.attname: f.default if f.has_default() and callable(f.default) else f.get_default()
        for f in fields
    }
    table = connection.ops.quote_name(model._meta.db_table)
    count = 0
    raw = connection.connection
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            values = []
            for f in fields:
                value = row[f.attname] if f.attname in row else defaults.get(f.attname)
                if callable(value):
                    value = value()
                if isinstance(f, models.JSONField):
                    value = json.dumps(value)
                values.append(value)
            copy.write_row(values)
            count += 1
    return count


def _history(_model, row: dict, *, at, kind: str, user_id: int, reason: str) -> dict:
    return row | {
        "history_date": at,
        "history_type": kind,
        "history_user_id": user_id,
        "history_change_reason": reason,
    }


@transaction.atomic
def generate(scale: Scale, *, log=print) -> dict:
    """Fill the database at ``scale`` (PostgreSQL only), all or nothing."""
    rng = random.Random(SEED)
    now = timezone.now().replace(microsecond=0)
    system = get_system_user()
    user = system.pk
    hist_skip = ("history_id",)

    with connection.cursor():  # make sure the connection is open
        pass

    log(f"generating {scale.name}: {scale.orders:,} orders …")
    warehouse = Warehouse.objects.create(code="BENCH-DC", name="Bench DC", source_system=SOURCE)

    customers = [
        {
            "id": 10_000_000 + n,
            "source_system": SOURCE,
            "external_id": f"BC{n:06d}",
            "number": f"BC{n:06d}",
            "name": f"Bench customer {n:06d}",
            "segment": rng.choice(["strategic", "key", "standard", "standard", "small"]),
            "territory": rng.choice(["NORTHEAST", "SOUTHEAST", "MIDWEST", "SOUTHWEST", "WEST"]),
            "credit_limit": Decimal(rng.choice([15000, 60000, 200000, 500000])),
            "payment_terms": "NET30",
            "credit_status": "ok",
            "billing_rule": "immediate",
            "tax_region": "US-MA",
        }
        for n in range(scale.customers)
    ]
    _copy(Customer, customers)
    _copy(
        Customer.history.model,
        (
            _history(None, c, at=now - timedelta(days=400), kind="+", user_id=user, reason="Bench")
            for c in customers
        ),
        skip=hist_skip,
    )
    _copy(
        ShipTo,
        (
            {
                "id": 10_000_000 + n,
                "customer_id": c["id"],
                "code": "MAIN",
                "name": "Main dock",
                "address": "1 Bench Way",
                "city": "Boston",
                "source_system": SOURCE,
                "external_id": f"{c['number']}-MAIN",
            }
            for n, c in enumerate(customers)
        ),
    )
    _copy(
        ARBalance,
        (
            {"id": 10_000_000 + n, "customer_id": c["id"], "as_of": now}
            for n, c in enumerate(customers)
        ),
    )
    prices = [Decimal(rng.randint(100, 50000)) / 100 for _ in range(scale.items)]
    _copy(
        Item,
        (
            {
                "id": 10_000_000 + n,
                "source_system": SOURCE,
                "external_id": f"BI{n:06d}",
                "sku": f"BENCH-{n:06d}",
                "description": f"Bench item {n}",
                "list_price": prices[n],
                "unit_cost": (prices[n] * Decimal("0.6")).quantize(Decimal("0.01")),
            }
            for n in range(scale.items)
        ),
    )
    _copy(
        InventoryPosition,
        (
            {
                "id": 10_000_000 + n,
                "item_id": 10_000_000 + n,
                "warehouse_id": warehouse.pk,
                "erp_on_hand": Decimal(100000),
                "wms_on_hand": Decimal(100000),
                "allocated": Decimal(0),
                "as_of": now,
            }
            for n in range(scale.items)
        ),
    )

    reasons = {r.code: r for r in HoldReason.objects.filter(code__in=HOLD_REASONS)}
    states = [state for state, weight in STATE_MIX for _ in range(weight)]
    orders, lines, holds = [], [], []
    order_hist, line_hist, hold_hist = [], [], []

    copy_seconds = [0.0]

    def flush():
        start = time.perf_counter()
        _copy(Order, orders)
        _copy(Order.history.model, order_hist, skip=hist_skip)
        _copy(OrderLine, lines)
        _copy(OrderLine.history.model, line_hist, skip=hist_skip)
        _copy(Hold, holds)
        _copy(Hold.history.model, hold_hist, skip=hist_skip)
        copy_seconds[0] += time.perf_counter() - start
        for batch in (orders, lines, holds, order_hist, line_hist, hold_hist):
            batch.clear()

    line_id = 10_000_000
    hold_id = 10_000_000
    for n in range(scale.orders):
        order_id = 10_000_000 + n
        customer = customers[rng.randrange(scale.customers)]
        state = "on_hold" if n % 10 == 0 else rng.choice(states[10:])
        received = now - timedelta(seconds=rng.randint(60, 400 * 86400))
        if state == "on_hold":
            received = now - timedelta(seconds=rng.randint(60, 5 * 86400))
        subtotal = Decimal(0)
        order_lines = []
        for number in range(1, scale.lines_per_order + 1):
            item = rng.randrange(scale.items)
            quantity = Decimal(rng.randint(1, 20))
            done = state in ("shipped", "invoiced", "closed")
            order_lines.append(
                {
                    "id": line_id,
                    "order_id": order_id,
                    "line_number": number,
                    "item_id": 10_000_000 + item,
                    "ordered_qty": quantity,
                    "allocated_qty": quantity
                    if state not in ("on_hold", "released", "cancelled")
                    else Decimal(0),
                    "shipped_qty": quantity if done else Decimal(0),
                    "invoiced_qty": quantity if state in ("invoiced", "closed") else Decimal(0),
                    "unit_price": prices[item],
                }
            )
            subtotal += (quantity * prices[item]).quantize(Decimal("0.01"))
            line_id += 1
        order = {
            "id": order_id,
            "source_system": SOURCE,
            "external_id": f"BO{n:07d}",
            "number": f"BO-{n:07d}",
            "channel": rng.choice(["edi", "edi", "ecommerce", "inside_sales", "portal"]),
            "customer_id": customer["id"],
            "ship_to_id": customer["id"],
            "subtotal": subtotal,
            "total": subtotal,
            "state": state,
            "correlation_id": uuid.UUID(int=rng.getrandbits(128)),
            "received_at": received,
            "released_at": received + timedelta(hours=2)
            if state not in ("on_hold", "cancelled")
            else None,
        }
        orders.append(order)
        step = received + timedelta(hours=rng.randint(1, 48))
        order_hist.append(
            _history(
                None,
                order | {"state": "received"},
                at=received,
                kind="+",
                user_id=user,
                reason="Imported",
            )
        )
        order_hist.append(
            _history(
                None, order, at=min(step, now), kind="~", user_id=user, reason=f"Moved to {state}"
            )
        )
        for line in order_lines:
            lines.append(line)
            line_hist.append(
                _history(None, line, at=received, kind="+", user_id=user, reason="Imported")
            )
        if state == "on_hold":
            code = HOLD_REASONS[(n // 10) % len(HOLD_REASONS)]
            reason = reasons[code]
            value = subtotal
            hold = {
                "id": hold_id,
                "order_id": order_id,
                "scope": "order",
                "reason_id": reason.pk,
                "category": reason.category,
                "queue": reason.queue,
                "blocks": reason.blocks,
                "state": "open",
                "value_at_risk": value,
                "approval_amount": value,
                "priority_score": value,
                "raised_at": received,
                "due_at": received + timedelta(hours=reason.sla_hours),
                "context": {"bench": True},
            }
            holds.append(hold)
            hold_hist.append(
                _history(None, hold, at=received, kind="+", user_id=user, reason="Raised by rule")
            )
            hold_id += 1
        if len(orders) >= 20_000:
            flush()
            log(f"  … {n + 1:,} orders")
    flush()
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(
            no_style(),
            [Customer, ShipTo, ARBalance, Item, InventoryPosition, Order, OrderLine, Hold],
        ):
            cursor.execute(sql)
    analyze_filled()  # the empty tables left as a live installation has them (bench.stats)
    # The dashboard reads KPI slices; after a bulk load they are rebuilt, as after any restore.
    started = time.perf_counter()
    rows = rollups.rebuild()
    log(f"KPI slices rebuilt ({rows:,} rows) in {time.perf_counter() - started:.0f} s")
    log("generated.")
    return {"copy orders/s": round(scale.orders / copy_seconds[0], 1) if copy_seconds[0] else None}
