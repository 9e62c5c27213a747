"""A history for the triage models to learn from: months of older orders that went on hold and were
decided by the queue's analyst, with structure a model can find and people would recognise.

The hidden truth: about a third of the demo customers are shaky (their holds are mostly
rejected), the rest reliable; a large order is rejected more often; pricing holds are usually
released. The truth is never stored: the model sees only what o2c records (the hold's reason
and value, each customer's earlier decisions).
"""

from __future__ import annotations

import hashlib
import math
import random
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from cases.models import Case, CaseReason, CaseState, RootCause
from core.audit import set_state_for_insert
from core.roles import get_system_user
from exceptions.models import Hold, HoldReason, HoldState
from orders.models import Customer, Order, OrderLine, OrderState

SOURCE = "demo-history"
ZERO_MONEY = Decimal("0.00")
#: reason code: (the queue's demo login, how often it is released for a reliable customer)
REASONS = {
    "CREDIT_LIMIT": ("credit", 0.90),
    "CREDIT_PAST_DUE": ("credit", 0.80),
    "PRICE_BELOW_CONTRACT": ("pricing", 0.95),
    "MARGIN_BELOW_FLOOR": ("pricing", 0.85),
}


def shaky(customer_number: str) -> bool:
    """The hidden truth: a stable third of the customers, by their number."""
    return int(hashlib.sha256(customer_number.encode()).hexdigest()[:8], 16) % 3 == 0


def seed_triage_history(*, holds: int = 900, seed: int = 20261205, deciders=None) -> int:
    """Older decided holds on orders of their own (source ``demo-history``); idempotent.
    ``deciders``: the analyst deciding each queue's holds ({"credit": user, "pricing": user}),
    by default the demo's logins of those names."""
    if Order.objects.filter(source_system=SOURCE).exists():
        return 0
    rng = random.Random(seed)
    customers = list(Customer.objects.order_by("number")[:120])
    reasons = {r.code: r for r in HoldReason.objects.filter(code__in=REASONS)}
    users = deciders or {
        u.username: u for u in get_user_model().objects.filter(username__in=["credit", "pricing"])
    }
    if not customers or len(reasons) < len(REASONS) or len(users) < 2:
        return 0  # the demo's master data, reasons and logins come first
    system, now = get_system_user(), timezone.now()
    start = now - timedelta(days=200)
    orders, made = [], []
    for n in range(holds):
        customer = rng.choice(customers)
        code = rng.choice(sorted(REASONS))
        login, release_rate = REASONS[code]
        value = Decimal(rng.choice([350, 800, 1500, 4000, 9000, 25000]))
        if shaky(customer.number):
            release_rate -= 0.65
        if value > 5000:
            release_rate -= 0.25
        released = rng.random() < release_rate
        raised = start + timedelta(hours=n * 4 + rng.randint(0, 3))
        order = Order(
            source_system=SOURCE, external_id=f"H{n:06d}", number=f"HIST-{n:06d}",
            channel="edi", customer=customer, received_at=raised - timedelta(minutes=5),
            total=value, subtotal=value,
        )  # fmt: skip
        set_state_for_insert(order, OrderState.CLOSED if released else OrderState.CANCELLED)
        orders.append(order)
        reason = reasons[code]
        hold = Hold(
            order=order, reason=reason, category=reason.category, queue=reason.queue,
            blocks=reason.blocks, value_at_risk=value, priority_score=value, raised_at=raised,
            due_at=raised + timedelta(hours=reason.sla_hours), resolved_by=users[login],
            resolved_at=raised + timedelta(hours=rng.randint(1, 40)),
            resolution_code="OVERRIDE" if released else "REJECTED",
            resolution_note="Reviewed (demo history)",
        )  # fmt: skip
        set_state_for_insert(hold, HoldState.RELEASED if released else HoldState.REJECTED)
        made.append(hold)
    bulk_create_with_history(
        orders, Order, batch_size=500, default_user=system,
        default_change_reason="Demo history for the triage models",
    )  # fmt: skip
    for order, hold in zip(orders, made, strict=True):
        hold.order = order
    bulk_create_with_history(
        made, Hold, batch_size=500, default_user=system,
        default_change_reason="Decided (demo history)",
    )  # fmt: skip
    return len(made)


#: The case-reason model's hidden truth: what the ambiguous remittance codes mean to each of
#: three groups of customers (a customer's group follows from its number)...
DIALECTS = [
    {"ADJ": RootCause.SHIPMENT_SHORT, "DED": RootCause.PROMOTION_NOT_SET_UP,
     "MISC": RootCause.TAX_SETUP},
    {"ADJ": RootCause.PRICE_FILE, "DED": RootCause.DAMAGE_IN_TRANSIT,
     "MISC": RootCause.BILLED_TWICE},
    {"ADJ": RootCause.FREIGHT_TERMS, "DED": RootCause.CUSTOMER_ERROR,
     "MISC": RootCause.PROMOTION_NOT_SET_UP},
]  # fmt: skip
#: ... while the standard codes mostly mean what they say: (usually, sometimes)
STANDARD_CODES = {
    "SHT": (RootCause.SHIPMENT_SHORT, RootCause.CUSTOMER_ERROR),
    "DMG": (RootCause.DAMAGE_IN_TRANSIT, RootCause.SHIPMENT_SHORT),
    "PRC": (RootCause.PRICE_FILE, RootCause.PROMOTION_NOT_SET_UP),
}
#: the reason a case is opened under: the seeded code mappings, else "other"
OPENED_AS = {"SHT": "SHORTAGE", "DMG": "DAMAGE", "PRC": "PRICING"}


CASE_HISTORY = "Closed (history for the case-reason model)"


def one_invoice_each(limit: int = 60) -> dict[int, object]:
    """Customer pk -> its first invoice, for the first ``limit`` customers with one (the case
    history hangs its deductions on them)."""
    from billing.models import Invoice

    firsts: dict[int, int] = {}
    rows = Invoice.objects.order_by("customer_id", "pk")
    for customer_id, pk in rows.values_list("customer_id", "pk").iterator():
        firsts.setdefault(customer_id, pk)
        if len(firsts) >= limit:
            break
    invoices = Invoice.objects.in_bulk(list(firsts.values()))
    return {customer_id: invoices[pk] for customer_id, pk in firsts.items()}


def dialect(customer_number: str) -> dict[str, str]:
    return DIALECTS[int(hashlib.sha256(customer_number.encode()).hexdigest()[8:16], 16) % 3]


def seed_case_history(
    *, cases: int, seed: int, decider, invoices: dict[int, object], still_open: int = 0
) -> int:
    """Deductions closed by ``decider`` with the root cause the hidden truth says, one every six
    hours, on the customers of ``invoices`` (customer pk -> one of its invoices), then
    ``still_open`` open ones. Closed as invalid (the customer was told; no credit owed), so the
    history asks for no credit memo."""
    if Case.history.filter(history_change_reason=CASE_HISTORY).exists():
        return 0
    rng = random.Random(seed)
    customers = list(Customer.objects.filter(pk__in=invoices).order_by("number"))
    reasons = {r.code: r for r in CaseReason.objects.all()}
    if not customers or "OTHER" not in reasons:
        return 0
    # the last is opened three days ago: every closed one was decided by now
    start = timezone.now() - timedelta(hours=6 * (cases + still_open) + 72)
    made = []
    for n in range(cases + still_open):
        customer = rng.choice(customers)
        code = rng.choice(["SHT", "DMG", "PRC", "ADJ", "ADJ", "DED", "DED", "MISC"])
        if code in STANDARD_CODES:
            usual, sometimes = STANDARD_CODES[code]
            root = usual if rng.random() < 0.92 else sometimes
        else:
            root = dialect(customer.number)[code] if rng.random() < 0.95 else (
                RootCause.CUSTOMER_ERROR)  # fmt: skip
        opened = start + timedelta(hours=6 * n)
        reason = reasons.get(OPENED_AS.get(code, "OTHER"), reasons["OTHER"])
        closed = n < cases
        case = Case(
            kind=Case.Kind.DEDUCTION, customer=customer, invoice=invoices[customer.pk],
            amount=Decimal(rng.choice([40, 120, 480, 2000])), currency="USD", reason=reason,
            remittance_code=code, queue=reason.queue, opened_at=opened,
            due_at=opened + timedelta(hours=reason.sla_hours),
            root_cause=root if closed else "", resolved_by=decider if closed else None,
            resolved_at=opened + timedelta(hours=rng.randint(2, 60)) if closed else None,
        )  # fmt: skip
        set_state_for_insert(case, CaseState.INVALID if closed else CaseState.OPEN)
        made.append(case)
    bulk_create_with_history(
        made, Case, batch_size=500, default_user=get_system_user(),
        default_change_reason=CASE_HISTORY,
    )  # fmt: skip
    return len(made)


def slow_payer(customer_number: str) -> bool:
    """The payment-risk model's hidden truth: a stable third of the customers pay late, by their
    number (a different third from the shaky ones)."""
    return int(hashlib.sha256(customer_number.encode()).hexdigest()[16:24], 16) % 3 == 0


def seed_payment_history(*, invoices: int, seed: int, customers, still_open: int = 0) -> int:
    """Paid invoices of ``customers``, issued one every four hours up to 150 days ago (all paid by now): slow payers
    pay most of theirs late (by weeks), the others now and then (by days), and a large invoice is
    paid late more often by anyone. Then ``still_open`` released invoices nobody has paid, issued
    over the last 45 days. Number prefix ``PH-``; idempotent."""
    from billing.models import Invoice, InvoiceState

    if Invoice.objects.filter(number__startswith="PH-").exists():
        return 0
    rng = random.Random(seed)
    customers = list(customers)
    if not customers:
        return 0
    now = timezone.now()
    first = timezone.localdate() - timedelta(days=150 + invoices // 6)
    made = []
    for n in range(invoices + still_open):
        customer = rng.choice(customers)
        total = Decimal(rng.choice([300, 900, 2500, 7000, 15000]))
        terms = rng.choice([30, 30, 60])
        open_ = n >= invoices
        issued = (
            timezone.localdate() - timedelta(days=rng.randint(1, 45))
            if open_
            else first + timedelta(hours=4 * n)
        )
        late_chance = (0.8 if slow_payer(customer.number) else 0.08) + (
            0.45 if total > 5000 else 0.0
        )
        days_late = (
            rng.randint(8, 40) if slow_payer(customer.number) else rng.randint(1, 6)
        ) if rng.random() < late_chance else -rng.randint(0, 5)  # fmt: skip
        due = issued + timedelta(days=terms)
        invoice = Invoice(
            number=f"PH-{n:06d}", customer=customer, billing_rule=customer.billing_rule,
            currency="USD", payment_terms=f"NET{terms}", issued_on=issued, due_date=due,
            subtotal=total, total=total, settled_amount=ZERO_MONEY if open_ else total,
            created_at=now, released_at=now,
            paid_at=None if open_ else timezone.make_aware(
                datetime.combine(due + timedelta(days=days_late), time(15))),
        )  # fmt: skip
        set_state_for_insert(invoice, InvoiceState.RELEASED if open_ else InvoiceState.PAID)
        made.append(invoice)
    bulk_create_with_history(
        made, Invoice, batch_size=500, default_user=get_system_user(),
        default_change_reason="History for the payment-risk model",
    )  # fmt: skip
    return len(made)


#: The late-shipment model's hidden truth: carriers' transit days (low, high)...
CARRIERS = {"Swift Freight": (1, 2), "Coastal Lines": (2, 3), "Prairie Haul": (4, 7)}


def usual_carrier(customer_number: str) -> str:
    """... each customer's usual carrier, by its number (used for nine shipments in ten) ..."""
    names = sorted(CARRIERS)
    return names[int(hashlib.sha256(customer_number.encode()).hexdigest()[24:32], 16) % 3]


def remote(customer_number: str) -> bool:
    """... and a fifth of the customers far from every warehouse (two more days in transit)."""
    return int(hashlib.sha256(customer_number.encode()).hexdigest()[32:40], 16) % 5 == 0


def seed_shipment_history(
    *, orders: int, seed: int, customers, items, warehouses, still_open: int = 0
) -> int:
    """Orders released one every few hours up to ``orders / 8`` days ago, each shipped in full
    and delivered, some after their requested date: a warehouse works through its released orders
    in turn (its backlog delays the next), an order held for stock waits three more days, slow
    carriers and remote customers add transit days, and the requested date leaves 3 to 12 days.
    Then ``still_open`` released orders not yet shipped, requested over the coming days, for the
    model to score. Number prefix ``SH-``; idempotent. Returns how many orders it made."""
    from collections import deque

    from billing.models import Shipment, ShipmentLine, ShipmentState

    if Order.objects.filter(number__startswith="SH-").exists():
        return 0
    customers, items, warehouses = list(customers), list(items), list(warehouses)
    stock_reason = HoldReason.objects.filter(code="STOCK_SHORT").first()
    if not customers or not items or not warehouses or stock_reason is None:
        return 0
    rng = random.Random(seed)
    system, now = get_system_user(), timezone.now()
    # busy and quiet spells: in a busy one releases come faster than the warehouses ship (twelve
    # a day in all), their queues grow, and drain in the quiet one after
    gaps = [rng.uniform(2.0, 4.0) * (0.6 if math.sin(n / 40) > 0.3 else 1.6) for n in range(orders)]
    clock = now - timedelta(days=25, hours=sum(gaps))
    waiting = {w.pk: deque() for w in warehouses}
    pace = 6.0 * len(waiting) / 3  # hours between two orders a warehouse ships: 12 a day in all
    made_orders, lines_of, ships, holds = [], {}, {}, []
    for n in range(orders + still_open):
        open_ = n >= orders
        if open_:
            released = now - timedelta(hours=rng.randint(1, 20))
        else:
            clock += timedelta(hours=gaps[n])
            released = clock
        customer, warehouse = rng.choice(customers), rng.choice(warehouses)
        held = rng.random() < 0.15
        slack = rng.randint(3, 12)
        order = Order(
            source_system=SOURCE, external_id=f"S{n:06d}", number=f"SH-{n:06d}",
            channel="edi", customer=customer, received_at=released - timedelta(hours=2),
            released_at=released, requested_date=timezone.localdate(released)
            + timedelta(days=slack),
        )  # fmt: skip
        chosen = rng.sample(items, k=min(len(items), rng.randint(1, 3)))
        lines = [
            OrderLine(
                order=order,
                line_number=i + 1,
                item=item,
                warehouse=warehouse,
                ordered_qty=Decimal(rng.choice([5, 10, 20, 40])),
                unit_price=Decimal("10.00"),
            )  # fmt: skip
            for i, item in enumerate(chosen)
        ]
        total = sum(line.ordered_qty * line.unit_price for line in lines)
        order.total = order.subtotal = total
        if held:
            holds.append(
                Hold(order=order, reason=stock_reason, category=stock_reason.category,
                     queue=stock_reason.queue, blocks=stock_reason.blocks, value_at_risk=total,
                     priority_score=total, raised_at=order.received_at,
                     due_at=order.received_at + timedelta(hours=stock_reason.sla_hours),
                     resolved_by=system, resolved_at=released, resolution_code="CLEARED",
                     resolution_note="Stock arrived (history)")
            )  # fmt: skip
        if open_:
            set_state_for_insert(order, OrderState.RELEASED)
        else:
            # a warehouse ships in the order orders were released: in a busy spell its queue
            # grows, and each order waits for the ones before it
            queue = waiting[warehouse.pk]
            while queue and queue[0] <= released:
                queue.popleft()
            picked = max(released + timedelta(hours=rng.uniform(4, 12)),
                         (queue[-1] if queue else released) + timedelta(hours=pace))  # fmt: skip
            queue.append(picked)  # picked in turn: the queue stays in time order
            shipped = picked + timedelta(days=3 if held else 0)
            carrier = (
                usual_carrier(customer.number) if rng.random() < 0.9 else rng.choice(sorted(CARRIERS))
            )  # fmt: skip
            low, high = CARRIERS[carrier]
            transit = rng.uniform(low, high) + (2 if remote(customer.number) else 0)
            ships[n] = (warehouse, carrier, shipped, shipped + timedelta(days=transit))
            for line in lines:
                line.shipped_qty = line.invoiced_qty = line.ordered_qty
            set_state_for_insert(order, OrderState.CLOSED)
        made_orders.append(order)
        lines_of[n] = lines
    bulk_create_with_history(
        made_orders, Order, batch_size=500, default_user=system,
        default_change_reason="History for the late-shipment model",
    )  # fmt: skip
    all_lines = []
    for n, order in enumerate(made_orders):
        for line in lines_of[n]:
            line.order = order
            all_lines.append(line)
    bulk_create_with_history(all_lines, OrderLine, batch_size=1000, default_user=system)
    for hold in holds:
        hold.order_id = hold.order.pk  # the order is saved now: take its key
        set_state_for_insert(hold, HoldState.RELEASED)
    bulk_create_with_history(holds, Hold, batch_size=500, default_user=system)
    shipments = []
    for n, (warehouse, carrier, shipped, delivered) in ships.items():
        shipment = Shipment(
            order=made_orders[n], warehouse=warehouse, carrier=carrier, source_system=SOURCE,
            external_id=f"SHP-{n:06d}", shipped_at=shipped, delivered_at=delivered,
            signed_by="Receiving",
        )  # fmt: skip
        set_state_for_insert(shipment, ShipmentState.DELIVERED)
        shipments.append(shipment)
    bulk_create_with_history(shipments, Shipment, batch_size=500, default_user=system)
    by_order = {s.order_id: s for s in shipments}
    ShipmentLine.objects.bulk_create(
        [ShipmentLine(shipment=by_order[line.order_id], order_line=line, quantity=line.ordered_qty)
         for line in all_lines if line.order_id in by_order],
        batch_size=1000,
    )  # fmt: skip
    return len(made_orders)


ANOMALY_SOURCE = "demo-anomaly"
ANOMALY_HISTORY = "History for the order-anomaly model"
#: The kinds of unusual order the anomaly history hides, each a way the quantity rule alone
#: misses most of (it sees one line's quantity against that item's median, nothing else).
ANOMALY_KINDS = ("spike", "new_items", "new_ship_to", "odd_hour", "many_lines")


def anomaly_kind(n: int, rng: random.Random, share: float) -> str | None:
    """The hidden truth of order ``n``: None for a usual order, else what is unusual about it."""
    return rng.choice(ANOMALY_KINDS) if rng.random() < share else None


def seed_anomaly_history(
    *,
    orders: int,
    seed: int,
    customers,
    items,
    decider=None,
    share: float = 0.05,
    every: timedelta = timedelta(hours=2),
    end=None,
) -> int:
    """Orders of ``customers`` (source ``demo-anomaly``, number prefix ``AH-``), one ``every``
    (two hours by default) up to ``end`` (a day ago by default), never after it: each customer orders from a basket of its own (3-5 of ``items``), in about
    the same quantities, to its usual ship-to, at its usual time of day. A hidden ``share`` is
    unusual in one or two ways (``ANOMALY_KINDS``): a quantity spike (the quantity rule's case),
    items the customer never orders, a ship-to it never used, the middle of the night, twice the
    lines. Customer service (``decider``) rejected those on an anomaly hold, and cancelled them;
    the usual ones closed. The truth is kept in no field the model reads: only the decisions
    people recorded tell it. Idempotent."""
    from orders.models import OrderLine, ShipTo

    if Order.objects.filter(source_system=ANOMALY_SOURCE).exists():
        return 0
    customers, items = list(customers), list(items)
    reasons = {r.code: r for r in HoldReason.objects.filter(
        code__in=["QUANTITY_ANOMALY", "ORDER_ANOMALY"])}  # fmt: skip
    if not customers or len(items) < 10 or len(reasons) < 2:
        return 0
    rng = random.Random(seed)
    decider = decider or get_user_model().objects.filter(username="cs").first()
    system = get_system_user()
    habits = {}
    for customer in customers:
        usual, _ = ShipTo.objects.get_or_create(
            customer=customer, code="AH-MAIN",
            defaults={"name": f"{customer.name} main", "address": "1 Main St", "city": "Springfield"},
        )  # fmt: skip
        other, _ = ShipTo.objects.get_or_create(
            customer=customer, code="AH-OTHER",
            defaults={"name": f"{customer.name} other", "address": "9 Far Rd", "city": "Elsewhere"},
        )  # fmt: skip
        basket = rng.sample(items, rng.randint(3, 5))
        habits[customer.pk] = {
            "basket": basket,
            "quantity": {item.pk: rng.choice([5, 10, 20, 40, 80]) for item in basket},
            "hour": rng.choice([8, 9, 10, 11, 14, 15]),
            "ship_to": usual,
            "other": other,
        }
    end = end or timezone.now() - timedelta(hours=24)
    start = end - every * orders
    made, lines_of, truth = [], {}, []
    for n in range(orders):
        customer = rng.choice(customers)
        habit = habits[customer.pk]
        kind = anomaly_kind(n, rng, share)
        kinds = {kind, rng.choice(ANOMALY_KINDS)} if kind and rng.random() < 0.3 else {kind}
        day = (start + every * n).date()
        hour = rng.choice([2, 3, 4]) if "odd_hour" in kinds else habit["hour"] + rng.randint(-1, 1)
        received = timezone.make_aware(datetime.combine(day, time(hour, rng.randint(0, 59))))
        if received > end:  # the customer's usual hour has not come yet that day
            received -= timedelta(days=1)
        picked = rng.sample(habit["basket"], rng.randint(2, len(habit["basket"])))
        lines = [(item, habit["quantity"][item.pk] * rng.uniform(0.7, 1.3)) for item in picked]
        if "new_items" in kinds:
            strange = [i for i in items if i not in habit["basket"]]
            lines = lines[:1] + [
                (i, rng.choice([5, 10, 20])) for i in rng.sample(strange, min(3, len(strange)))
            ]
        if "many_lines" in kinds:
            strange = [i for i in items if i not in habit["basket"]]
            more = min(len(lines) + 2, len(strange))
            lines += [(i, rng.choice([5, 10])) for i in rng.sample(strange, more)]
        if "spike" in kinds:
            lines = [(item, q * rng.uniform(6, 12)) for item, q in lines]
        lines = [(item, Decimal(max(round(q), 1))) for item, q in lines]
        total = sum((q * item.list_price).quantize(Decimal("0.01")) for item, q in lines)
        order = Order(
            source_system=ANOMALY_SOURCE, external_id=f"A{n:06d}", number=f"AH-{n:06d}",
            channel="edi", customer=customer, received_at=received, subtotal=total, total=total,
            ship_to=habit["other"] if "new_ship_to" in kinds else habit["ship_to"],
        )  # fmt: skip
        set_state_for_insert(order, OrderState.CANCELLED if kind else OrderState.CLOSED)
        made.append(order)
        lines_of[n] = lines
        truth.append(kinds if kind else None)
    bulk_create_with_history(
        made, Order, batch_size=500, default_user=system, default_change_reason=ANOMALY_HISTORY
    )  # fmt: skip
    bulk_create_with_history(
        [
            OrderLine(order=order, line_number=k + 1, item=item, ordered_qty=q,
                      unit_price=item.list_price)
            for n, order in enumerate(made) for k, (item, q) in enumerate(lines_of[n])
        ],
        OrderLine, batch_size=2000, default_user=system, default_change_reason=ANOMALY_HISTORY,
    )  # fmt: skip
    holds = []
    for order, kinds in zip(made, truth, strict=True):
        if kinds is None:
            continue
        reason = reasons["QUANTITY_ANOMALY" if "spike" in kinds else "ORDER_ANOMALY"]
        raised = order.received_at + timedelta(minutes=1)
        hold = Hold(
            order=order, reason=reason, category=reason.category, queue=reason.queue,
            blocks=reason.blocks, value_at_risk=order.total, priority_score=order.total,
            raised_at=raised, due_at=raised + timedelta(hours=reason.sla_hours),
            resolved_by=decider,
            resolved_at=min(raised + timedelta(hours=rng.randint(1, 8)), timezone.now()),
            resolution_code="REJECTED", resolution_note="Not what the customer meant (demo history)",
        )  # fmt: skip
        set_state_for_insert(hold, HoldState.REJECTED)
        holds.append(hold)
    bulk_create_with_history(
        holds, Hold, batch_size=500, default_user=system, default_change_reason=ANOMALY_HISTORY
    )  # fmt: skip
    return len(made)
