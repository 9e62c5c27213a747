"""Demo holds for the seeded orders: every order that went on hold gets the hold that put it there
(open, claimed, awaiting approval or overdue if it is still held; resolved if it moved on)."""

import random
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from simple_history.utils import bulk_create_with_history

from core.audit import set_state_for_insert
from core.roles import get_system_user
from exceptions.facts import order_facts
from exceptions.models import Hold, HoldReason, HoldState
from exceptions.rules import evaluate
from exceptions.selectors import policy_for
from orders.models import Order, OrderState

CODE_FOR_HISTORY = {
    "Credit exposure above limit": "CREDIT_LIMIT",
    "Price below contract": "PRICE_BELOW_CONTRACT",
    "Short stock at DC": "STOCK_SHORT",
    "Missing ship-to": "MASTER_DATA_MISSING",
    "Quantity far above customer's usual": "QUANTITY_ANOMALY",
}
LINE_LEVEL = {"PRICE_BELOW_CONTRACT", "STOCK_SHORT", "QUANTITY_ANOMALY"}


def seed_holds(*, source: str = "demo", seed: int = 20261122) -> int:
    if Hold.objects.filter(order__source_system=source).exists():
        return 0
    rng = random.Random(seed)
    users = {
        u.username: u
        for u in get_user_model().objects.filter(
            username__in=["credit", "pricing", "warehouse", "cs"]
        )
    }
    resolver = {
        "credit": users.get("credit"),
        "pricing": users.get("pricing"),
        "warehouse": users.get("warehouse"),
        "customer_service": users.get("cs"),
    }
    system = get_system_user()
    reasons = {reason.code: reason for reason in HoldReason.objects.all()}
    steps = Order.history.filter(source_system=source, state=OrderState.ON_HOLD).values_list(
        "id", "history_date", "history_change_reason"
    )
    raised_by_order = {order_id: (at, why) for order_id, at, why in steps}
    orders = (
        Order.objects.filter(pk__in=raised_by_order)
        .select_related("customer")
        .prefetch_related("lines__item")
    )
    weights = {}
    holds = []
    for order in orders.order_by("pk"):
        raised_at, why = raised_by_order[order.pk]
        code = CODE_FOR_HISTORY.get(why.removeprefix("Hold raised: "), "CREDIT_LIMIT")
        reason = reasons[code]
        line = order.lines.all()[0] if code in LINE_LEVEL else None
        segment = order.customer.segment
        if segment not in weights:
            weights[segment] = policy_for(segment)
        policy = weights[segment]
        value = (line.ordered_qty * (line.unit_price or 0) if line else order.total).quantize(
            Decimal("0.01")
        )
        # The numbers behind the hold come from the real rules where today's data still shows the
        # problem; otherwise from the order itself.
        finding = _finding(order, code, line, policy)
        context = (
            finding.context
            if finding
            else {
                "order_total": str(order.total),
                "credit_limit": str(order.customer.credit_limit),
                "sku": line.item.sku if line else None,
            }
        )
        if finding:
            value = finding.value_at_risk.quantize(Decimal("0.01"))
        hold = Hold(
            order=order,
            line=line,
            scope=f"line:{line.pk}" if line else "order",
            reason=reason,
            category=reason.category,
            queue=reason.queue,
            blocks=reason.blocks,
            value_at_risk=value,
            approval_amount=_approval(finding, value),
            priority_score=(value * policy.segment_weight).quantize(Decimal("0.01")),
            raised_at=raised_at,
            due_at=raised_at + timedelta(hours=reason.sla_hours),
            context=context,
        )
        if order.state == OrderState.ON_HOLD:
            state = rng.choices(
                [HoldState.OPEN, HoldState.CLAIMED, HoldState.AWAITING_SECOND_APPROVAL],
                weights=[70, 25, 5],
            )[0]
            if state != HoldState.OPEN:
                hold.assignee = resolver[reason.queue]
            if state == HoldState.AWAITING_SECOND_APPROVAL:
                hold.first_approver = resolver[reason.queue]
                hold.resolution_note = "Customer paid by wire; awaiting a second approver"
            if hold.due_at < raised_at + timedelta(days=1) and rng.random() < 0.3:
                hold.escalation_level = 1
        else:
            state = (
                HoldState.REJECTED if order.state == OrderState.CANCELLED else HoldState.RELEASED
            )
            hold.resolved_by = resolver[reason.queue]
            hold.first_approver = hold.resolved_by if state == HoldState.RELEASED else None
            hold.resolved_at = order.released_at or raised_at + timedelta(hours=2)
            hold.resolution_code = "OVERRIDE" if state == HoldState.RELEASED else "REJECTED"
            hold.resolution_note = (
                "Reviewed and approved" if state == HoldState.RELEASED else "Customer cancelled"
            )
        set_state_for_insert(hold, state)  # seeded rows are built in their final state
        holds.append(hold)
    bulk_create_with_history(
        holds,
        Hold,
        batch_size=500,
        default_user=system,
        default_change_reason="Raised by rule (demo data)",
    )
    return len(holds)


def _finding(order, code, line, policy):
    findings = evaluate(
        order_facts(order, history_orders=policy.anomaly_history_orders), policy.thresholds
    )
    for finding in findings:
        if finding.reason_code == code and (line is None or finding.line_id in (None, line.pk)):
            return finding
    return None


def _approval(finding, value):
    if finding and finding.context.get("overage"):
        return Decimal(finding.context["overage"]).quantize(Decimal("0.01"))
    return value
