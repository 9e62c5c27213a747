"""Holds raised and cleared by the rules (an order evaluated) and by other apps (billing,
integrations); the order is put on hold or released to match."""

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core.money import CENT
from core.pgcopy import maker
from core.roles import get_system_user
from orders.lifecycle import Step
from orders.models import Order, OrderState
from orders.services import lock_credit, order_place_on_hold, order_release

from ..facts import order_facts
from ..models import ACTIVE_STATES, Hold, HoldReason
from ..rules import Finding, evaluate
from ..selectors import policy_for
from .common import save_hold, who

EVALUATED_STATES = {OrderState.RECEIVED, OrderState.ON_HOLD}
RULE_CATEGORIES = {"credit", "pricing", "inventory", "master_data", "anomaly"}


def _approval_amount(finding: Finding) -> Decimal:
    overage = finding.context.get("overage")
    return Decimal(overage) if overage is not None else finding.value_at_risk


def hold_for_finding(order, finding: Finding, reason, policy, *, at, actor) -> Hold:
    """The (unsaved) hold a rule's finding raises, with its history author and reason."""
    hold = maker(Hold, "order", "reason")(
        order=order,
        line_id=finding.line_id,
        scope=f"line:{finding.line_id}" if finding.line_id else "order",
        reason=reason,
        category=reason.category,
        queue=reason.queue,
        blocks=reason.blocks,
        value_at_risk=finding.value_at_risk.quantize(CENT),
        approval_amount=_approval_amount(finding).quantize(CENT),
        priority_score=(finding.value_at_risk * policy.segment_weight).quantize(CENT),
        raised_at=at,
        due_at=at + timedelta(hours=reason.sla_hours),
        context=finding.context,
    )
    hold._history_user = actor
    hold._change_reason = f"Raised by rule: {reason.description}"
    return hold


@transaction.atomic
def order_evaluate(*, order_id: int, actor=None) -> list[Hold]:
    """Run the rules on an order; open a hold per new finding, clear holds whose cause is gone,
    then put the order on hold or release it. Safe to run any number of times."""
    actor = actor or get_system_user()
    order = (
        Order.objects.select_for_update(of=("self",)).select_related("customer").get(pk=order_id)
    )
    if order.state not in EVALUATED_STATES:
        return []
    lock_credit([order.customer_id])  # its exposure as it stands, no release in flight left out
    policy = policy_for(order.customer.segment)
    findings = evaluate(
        order_facts(order, history_orders=policy.anomaly_history_orders), policy.thresholds
    )
    reasons = {reason.code: reason for reason in HoldReason.objects.filter(active=True)}
    existing = {
        (hold.reason.code, hold.scope): hold
        for hold in Hold.objects.filter(order=order).select_related("reason").order_by("raised_at")
        # an override (released by a person) sticks: re-evaluation does not raise it again
        if hold.state in ACTIVE_STATES or hold.resolution_code not in ("", "CLEARED")
    }
    now = timezone.now()
    raised, found_keys = [], set()
    for finding in findings:
        reason = reasons.get(finding.reason_code)
        if reason is None:
            continue  # an admin switched this reason off
        scope = f"line:{finding.line_id}" if finding.line_id else "order"
        found_keys.add((reason.code, scope))
        if (reason.code, scope) in existing:
            continue
        hold = hold_for_finding(order, finding, reason, policy, at=now, actor=actor)
        hold.save()
        raised.append(hold)
    for key, hold in existing.items():
        if (
            hold.state in ACTIVE_STATES
            and key not in found_keys
            and hold.category in RULE_CATEGORIES
        ):
            hold.clear(by=actor, note="No longer found on re-evaluation", at=now)
            save_hold(hold, actor, "Cleared: the cause is gone")
    sync_order(order, actor=actor)
    return raised


def sync_order(order: Order, *, actor) -> None:
    """Hold the order while a release-blocking hold is active; release it when none is left."""
    blocking = Hold.objects.filter(
        order=order, blocks=Step.RELEASE, state__in=ACTIVE_STATES
    ).exists()
    system = get_system_user()
    if blocking and order.state == OrderState.RECEIVED:
        order_place_on_hold(actor=system, order_id=order.pk, reason="Holds raised by rules")
    elif not blocking and order.state in EVALUATED_STATES:
        why = (
            "Touchless: no hold raised"
            if order.state == OrderState.RECEIVED
            else (f"Last blocking hold resolved by {who(actor)}")
        )
        order_release(actor=system, order_id=order.pk, reason=why)


@transaction.atomic
def hold_raise(
    *,
    order_id: int,
    reason_code: str,
    context: dict,
    actor=None,
    value: Decimal | None = None,
    line_id: int | None = None,
) -> Hold:
    """Raise a hold from outside the rules (integrations, billing); one active hold per reason
    and scope (the order, or one of its lines)."""
    actor = actor or get_system_user()
    order = (
        Order.objects.select_for_update(of=("self",)).select_related("customer").get(pk=order_id)
    )
    reason = HoldReason.objects.get(code=reason_code)
    scope = f"line:{line_id}" if line_id else "order"
    existing = Hold.objects.filter(
        order=order, reason=reason, scope=scope, state__in=ACTIVE_STATES
    ).first()
    if existing is not None:
        return existing
    now = timezone.now()
    value = (value if value is not None else order.total).quantize(Decimal("0.01"))
    weight = policy_for(order.customer.segment).segment_weight
    hold = maker(Hold, "order", "reason")(
        order=order,
        line_id=line_id,
        scope=scope,
        reason=reason,
        category=reason.category,
        queue=reason.queue,
        blocks=reason.blocks,
        value_at_risk=value,
        approval_amount=value,
        priority_score=(value * weight).quantize(Decimal("0.01")),
        raised_at=now,
        due_at=now + timedelta(hours=reason.sla_hours),
        context=context,
    )
    return save_hold(hold, actor, f"Raised: {reason.description}")


@transaction.atomic
def holds_clear(*, order_id: int, reason_code: str, note: str, actor=None) -> int:
    """The cause of a hold raised from outside the rules is gone (the POD arrived, the tax now
    computes): clear its active holds on the order. Returns how many were cleared."""
    holds = list(
        Hold.objects.select_for_update(of=("self",)).filter(
            order_id=order_id, reason__code=reason_code, state__in=ACTIVE_STATES
        )
    )
    if not holds:
        return 0  # the usual case (called after every invoice): nothing more to read
    actor = actor or get_system_user()
    now = timezone.now()
    for hold in holds:
        hold.clear(by=actor, note=note, at=now)
        save_hold(hold, actor, f"Cleared: {note}")
    return len(holds)
