"""A history for the triage models to learn from: months of older orders that went on hold and were
decided by the queue's analyst, with structure a model can find and people would recognise.

The hidden truth: about a third of the demo customers are shaky (their holds are mostly
rejected), the rest reliable; a large order is rejected more often; pricing holds are usually
released. The truth is never stored: the model sees only what o2c records (the hold's reason
and value, each customer's earlier decisions).
"""

from __future__ import annotations

import hashlib
import random
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from core.audit import set_state_for_insert
from core.roles import get_system_user
from exceptions.models import Hold, HoldReason, HoldState
from orders.models import Customer, Order, OrderState

SOURCE = "demo-history"
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
