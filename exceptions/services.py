"""Every write to holds: evaluation of an order, and the queue actions, each locked and audited."""

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django_fsm import ConcurrentTransition, can_proceed, has_transition_perm

from o2c.errors import ApplicationError, Conflict, PermissionDenied, require_reason
from orders.lifecycle import Step
from orders.models import Order, OrderState
from orders.roles import get_system_user, is_system_user
from orders.services import (
    order_line_accept_price,
    order_line_close_short,
    order_place_on_hold,
    order_release,
    order_transition,
)

from .facts import CENT, order_facts
from .models import ACTIVE_STATES, Hold, HoldReason, HoldState
from .notifications import notify_managers
from .rules import Finding, evaluate
from .selectors import holds_for_user, policy_for, queues_for_user
from .signals import hold_released

EVALUATED_STATES = {OrderState.RECEIVED, OrderState.ON_HOLD}
RULE_CATEGORIES = {"credit", "pricing", "inventory", "master_data", "anomaly"}


def _who(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else "someone"


def _approval_amount(finding: Finding) -> Decimal:
    overage = finding.context.get("overage")
    return Decimal(overage) if overage is not None else finding.value_at_risk


# --- Evaluation ------------------------------------------------------------------------------


def hold_for_finding(order, finding: Finding, reason, policy, *, at, actor) -> Hold:
    """The (unsaved) hold a rule's finding raises, with its history author and reason."""
    hold = Hold(
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
            _save(hold, actor, "Cleared: the cause is gone")
    _sync_order(order, actor=actor)
    return raised


def _sync_order(order: Order, *, actor) -> None:
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
            else (f"Last blocking hold resolved by {_who(actor)}")
        )
        order_release(actor=system, order_id=order.pk, reason=why)


# --- Queue actions ---------------------------------------------------------------------------


def _lock(*, hold_id: int, actor) -> Hold:
    hold = (
        holds_for_user(actor)
        .select_for_update(of=("self",))
        .select_related("order", "reason", "assignee")
        .filter(pk=hold_id)
        .first()
    )
    if hold is None:
        raise PermissionDenied(
            "Hold not found or not in your queues; nothing was changed.", {"hold_id": hold_id}
        )
    return hold


def _refuse(hold: Hold, action: str) -> ApplicationError:
    if hold.state in (HoldState.RELEASED, HoldState.REJECTED):
        when = (
            timezone.localtime(hold.resolved_at).strftime("%Y-%m-%d %H:%M")
            if hold.resolved_at
            else "earlier"
        )
        return Conflict(
            f"Already {hold.get_state_display().lower()} by {_who(hold.resolved_by)} at {when}.",
            {"state": hold.state},
        )
    if hold.state == HoldState.CLAIMED and action == "claim":
        return Conflict(f"Already claimed by {_who(hold.assignee)}.", {"state": hold.state})
    if hold.state == HoldState.AWAITING_SECOND_APPROVAL and action != "approve":
        return Conflict(
            f"Waiting for a second approver since {_who(hold.first_approver)} released it.",
            {"state": hold.state},
        )
    return Conflict(
        f"A hold that is {hold.get_state_display().lower()} cannot be {action}ed.",
        {"state": hold.state},
    )


def _run(hold: Hold, name: str, actor, **kwargs) -> None:
    method = getattr(hold, name)
    if not can_proceed(method):
        raise _refuse(hold, name)
    if not has_transition_perm(method, actor):
        raise PermissionDenied("Only the queue's team may act on this hold.")
    method(**kwargs)


def _save(hold: Hold, actor, reason: str) -> Hold:
    hold._history_user = actor
    hold._change_reason = reason
    try:
        hold.save()
    except ConcurrentTransition as exc:
        raise Conflict("Someone else changed this hold a moment ago; reload to see it.") from exc
    return hold


def _require_not_own_order(hold: Hold, actor, action: str) -> None:
    """Maker-checker: nobody, superusers included, approves an order they entered or edited."""
    order = hold.order
    for who in (order.entered_by_id, order.last_edited_by_id):
        if who == actor.pk and not is_system_user(actor):
            raise PermissionDenied(
                f"You entered or edited order {order.number}; someone else must {action} its holds."
            )


def _check_assignee(hold: Hold, actor) -> None:
    if hold.state == HoldState.CLAIMED and hold.assignee_id not in (None, actor.pk):
        raise Conflict(f"Claimed by {_who(hold.assignee)}; ask them, or reassign it first.")


def _claim_if_open(hold: Hold, actor, purpose: str) -> None:
    """Acting on an unclaimed hold claims it first, so history shows who took it."""
    if hold.state == HoldState.OPEN:
        _run(hold, "claim", actor, by=actor)
        _save(hold, actor, f"Claimed by {_who(actor)} to {purpose}")


@transaction.atomic
def hold_claim(*, hold_id: int, actor) -> Hold:
    hold = _lock(hold_id=hold_id, actor=actor)
    _run(hold, "claim", actor, by=actor)
    return _save(hold, actor, f"Claimed by {_who(actor)}")


@transaction.atomic
def hold_unclaim(*, hold_id: int, actor, reason: str) -> Hold:
    reason = require_reason(reason)
    hold = _lock(hold_id=hold_id, actor=actor)
    _check_assignee(hold, actor)
    _run(hold, "unclaim", actor)
    return _save(hold, actor, reason)


@transaction.atomic
def hold_reassign(*, hold_id: int, actor, to_user_id: int, reason: str) -> Hold:
    reason = require_reason(reason)
    hold = _lock(hold_id=hold_id, actor=actor)
    to = get_user_model().objects.filter(pk=to_user_id, is_active=True).first()
    if to is None or hold.queue not in queues_for_user(to):
        raise ApplicationError("Reassign to an active member of this queue.", {"field": "to_user"})
    _run(hold, "reassign", actor, to=to)
    return _save(hold, actor, f"Reassigned to {_who(to)}: {reason}")


@transaction.atomic
def hold_release(*, hold_id: int, actor, reason: str, code: str = "OVERRIDE") -> Hold:
    """Release a hold; above the policy amount it waits for a second approver instead."""
    reason = require_reason(reason)
    hold = _lock(hold_id=hold_id, actor=actor)
    _claim_if_open(hold, actor, "release")
    _check_assignee(hold, actor)
    if not hold.reason.overridable and code == "OVERRIDE":
        raise Conflict(
            f"“{hold.reason.description}” cannot be overridden; fix the cause and re-evaluate."
        )
    _require_not_own_order(hold, actor, "release")
    limit = policy_for(hold.order.customer.segment).maker_checker_amount
    if hold.approval_amount > limit:
        _run(hold, "request_second_approval", actor, by=actor, code=code, note=reason)
        return _save(
            hold,
            actor,
            f"Released by {_who(actor)}, awaiting a second approver "
            f"({hold.approval_amount} is above {limit}): {reason}",
        )
    _run(hold, "release", actor, by=actor, code=code, note=reason, at=timezone.now())
    _save(hold, actor, reason)
    if hold.category == "pricing" and hold.line_id and code == "OVERRIDE":
        # The analyst accepted an off-contract price: finance's maker-checker must know who.
        order_line_accept_price(
            actor=actor, order_id=hold.order_id, line_id=hold.line_id, reason=reason
        )
    _sync_order(Order.objects.select_for_update(of=("self",)).get(pk=hold.order_id), actor=actor)
    _announce_release(hold, actor)
    return hold


def _announce_release(hold: Hold, actor) -> None:
    transaction.on_commit(
        lambda: hold_released.send_robust(
            sender=Hold,
            hold_id=hold.pk,
            order_id=hold.order_id,
            reason_code=hold.reason.code,
            resolution_code=hold.resolution_code,
            actor_id=actor.pk,
        )
    )


@transaction.atomic
def hold_approve(*, hold_id: int, actor, reason: str) -> Hold:
    """The second approver of a maker-checker release: not the first, nor the order's author."""
    reason = require_reason(reason)
    hold = _lock(hold_id=hold_id, actor=actor)
    if hold.first_approver_id == actor.pk:
        raise PermissionDenied("You released this hold; a different person must approve it.")
    _require_not_own_order(hold, actor, "approve")
    _run(hold, "approve", actor, by=actor, note=reason, at=timezone.now())
    _save(hold, actor, f"Second approval by {_who(actor)}: {reason}")
    if hold.resolution_code == "CLOSED_SHORT":  # the first approver chose to close the line
        order_line_close_short(
            actor=actor, order_id=hold.order_id, line_id=hold.line_id, reason=reason
        )
    _sync_order(Order.objects.select_for_update(of=("self",)).get(pk=hold.order_id), actor=actor)
    _announce_release(hold, actor)
    return hold


@transaction.atomic
def hold_reject(*, hold_id: int, actor, reason: str, confirm_cancel: bool) -> Hold:
    """Reject a hold: the order is cancelled, so the user must confirm that first."""
    reason = require_reason(reason)
    if not confirm_cancel:
        raise ApplicationError(
            "Rejecting cancels the order. Confirm to go ahead.", {"field": "confirm_cancel"}
        )
    hold = _lock(hold_id=hold_id, actor=actor)
    _check_assignee(hold, actor)
    _claim_if_open(hold, actor, "reject")
    now = timezone.now()
    _run(hold, "reject", actor, by=actor, code="REJECTED", note=reason, at=now)
    _save(hold, actor, reason)
    system = get_system_user()
    for other in Hold.objects.select_for_update(of=("self",)).filter(
        order_id=hold.order_id, state__in=ACTIVE_STATES
    ):
        if other.state == HoldState.OPEN:
            other.claim(by=system)
        other.reject(
            by=system,
            code="ORDER_CANCELLED",
            note=f"Order cancelled: {hold.reason.description}",
            at=now,
        )
        _save(other, system, "Order cancelled by a rejected hold")
    order_transition(
        actor=system,
        order_id=hold.order_id,
        transition="cancel",
        reason=f"{hold.reason.description} rejected by {_who(actor)}: {reason}",
    )
    return hold


@transaction.atomic
def hold_escalate(*, hold_id: int, actor, reason: str) -> Hold:
    reason = require_reason(reason)
    hold = _lock(hold_id=hold_id, actor=actor)
    if hold.state not in ACTIVE_STATES:
        raise _refuse(hold, "escalat")
    return _escalate(hold, actor=actor, reason=reason)


def _escalate(hold: Hold, *, actor, reason: str) -> Hold:
    hold.escalation_level += 1
    weight = policy_for(hold.order.customer.segment).segment_weight
    # Priority = value at risk × segment weight × (1 + escalation level): the level is the age
    # measure, rising once per SLA period overdue, so the score stays stored and sortable.
    hold.priority_score = (hold.value_at_risk * weight * (1 + hold.escalation_level)).quantize(
        Decimal("0.01")
    )
    _save(hold, actor, f"Escalated to level {hold.escalation_level}: {reason}")
    notify_managers(
        hold,
        f"{hold.reason.description} on {hold.order.number} escalated to level "
        f"{hold.escalation_level}: {reason}",
    )
    return hold


def holds_escalate_overdue(*, now=None) -> int:
    """Beat task body: raise each overdue hold to one level per SLA period overdue. Idempotent."""
    now = now or timezone.now()
    system = get_system_user()
    escalated = 0
    overdue_ids = list(
        Hold.objects.filter(state__in=ACTIVE_STATES, due_at__lt=now).values_list("id", flat=True)
    )
    for hold_id in overdue_ids:
        with transaction.atomic():
            hold = (
                Hold.objects.select_for_update(of=("self",))
                .select_related("order__customer", "reason")
                .filter(pk=hold_id, state__in=ACTIVE_STATES)
                .first()
            )
            if hold is None:
                continue
            sla = timedelta(hours=max(hold.reason.sla_hours, 1))
            due_level = 1 + int((now - hold.due_at) / sla)
            if hold.escalation_level >= due_level:
                continue
            _escalate(hold, actor=system, reason=f"SLA of {hold.reason.sla_hours} h passed")
            escalated += 1
    return escalated


@transaction.atomic
def hold_correct_price(*, hold_id: int, actor, reason: str) -> Hold:
    """Pricing: set the line to its contract (or list) price; re-evaluation then clears the hold."""
    from orders.services import order_line_set_price

    reason = require_reason(reason)
    hold = _lock(hold_id=hold_id, actor=actor)
    if hold.category != "pricing" or hold.line_id is None:
        raise ApplicationError("Only a pricing hold on a line can be corrected to contract.")
    if hold.state not in ACTIVE_STATES:
        raise _refuse(hold, "correct")
    line = hold.line
    target = line.contract_price if line.contract_price is not None else line.item.list_price
    order_line_set_price(
        actor=actor,
        order_id=hold.order_id,
        line_id=line.pk,
        unit_price=target,
        reason=f"Price corrected to {target}: {reason}",
    )
    return hold


@transaction.atomic
def hold_approve_partial(*, hold_id: int, actor, reason: str) -> Hold:
    """Warehouse: ship what is available now and backorder the rest; the stock hold is released."""
    reason = require_reason(reason)
    hold = _lock(hold_id=hold_id, actor=actor)
    if hold.reason.code != "STOCK_SHORT":
        raise ApplicationError("A partial shipment can only settle a stock shortage.")
    hold.context = hold.context | {
        "approved_partial": hold.context.get("available"),
        "backorder": hold.context.get("short"),
    }
    _save(hold, actor, "Partial shipment approved")
    return hold_release(hold_id=hold_id, actor=actor, reason=reason, code="PARTIAL_BACKORDER")


@transaction.atomic
def hold_fix_master_data(
    *, hold_id: int, actor, payment_terms: str, tax_region: str, ship_to_id: int | None, reason: str
) -> Hold:
    """Customer service fills in what is missing, then the order is re-evaluated at once."""
    from orders.services import customer_update_master_data, order_set_ship_to

    reason = require_reason(reason)
    hold = _lock(hold_id=hold_id, actor=actor)
    if hold.reason.code != "MASTER_DATA_MISSING":
        raise ApplicationError("Only a master-data hold is fixed this way.")
    if hold.state not in ACTIVE_STATES:
        raise _refuse(hold, "fix")
    customer = hold.order.customer
    if payment_terms or tax_region:
        customer_update_master_data(
            actor=actor,
            customer_id=customer.pk,
            payment_terms=payment_terms or customer.payment_terms,
            tax_region=tax_region or customer.tax_region,
            reason=reason,
        )
    if ship_to_id:
        order_set_ship_to(actor=actor, order_id=hold.order_id, ship_to_id=ship_to_id, reason=reason)
    order_evaluate(order_id=hold.order_id, actor=actor)
    hold.refresh_from_db()
    return hold


@transaction.atomic
def hold_reevaluate(*, hold_id: int, actor) -> Hold:
    """Run the rules again for the hold's order (after a fix made elsewhere)."""
    hold = _lock(hold_id=hold_id, actor=actor)
    order_evaluate(order_id=hold.order_id, actor=actor)
    hold.refresh_from_db()
    return hold


@transaction.atomic
def notifications_mark_read(*, actor) -> int:
    """Mark the user's notifications read (operational state, not audited)."""
    from .models import Notification

    return Notification.objects.filter(user=actor, read_at__isnull=True).update(
        read_at=timezone.now()
    )


@transaction.atomic
def hold_cancel_line(*, hold_id: int, actor, reason: str) -> Hold:
    """Warehouse: cancel the short line; re-evaluation after commit clears its holds."""
    from orders.services import order_line_cancel

    reason = require_reason(reason)
    hold = _inventory_line_hold(hold_id=hold_id, actor=actor)
    order_line_cancel(actor=actor, order_id=hold.order_id, line_id=hold.line_id, reason=reason)
    return hold


@transaction.atomic
def hold_substitute(*, hold_id: int, actor, sku: str, reason: str) -> Hold:
    """Warehouse: ship another SKU instead; re-evaluation after commit checks the substitute."""
    from orders.services import order_line_substitute

    reason = require_reason(reason)
    hold = _inventory_line_hold(hold_id=hold_id, actor=actor)
    order_line_substitute(
        actor=actor,
        order_id=hold.order_id,
        line_id=hold.line_id,
        sku=sku,
        reason=f"Substituted {sku}: {reason}",
    )
    return hold


def _inventory_line_hold(*, hold_id: int, actor) -> Hold:
    hold = _lock(hold_id=hold_id, actor=actor)
    if hold.category != "inventory" or hold.line_id is None:
        raise ApplicationError("Only an inventory hold on a line can be settled this way.")
    if hold.state not in ACTIVE_STATES:
        raise _refuse(hold, "settl")
    return hold


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
    hold = Hold(
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
    return _save(hold, actor, f"Raised: {reason.description}")


@transaction.atomic
def holds_clear(*, order_id: int, reason_code: str, note: str, actor=None) -> int:
    """The cause of a hold raised from outside the rules is gone (the POD arrived, the tax now
    computes): clear its active holds on the order. Returns how many were cleared."""
    actor = actor or get_system_user()
    now = timezone.now()
    cleared = 0
    for hold in Hold.objects.select_for_update(of=("self",)).filter(
        order_id=order_id, reason__code=reason_code, state__in=ACTIVE_STATES
    ):
        hold.clear(by=actor, note=note, at=now)
        _save(hold, actor, f"Cleared: {note}")
        cleared += 1
    return cleared


# --- Fulfilment: a shipment that differs from what was released -------------------------------

FULFILMENT_REASONS = ("SHIPMENT_SHORT", "SHIPMENT_OVER")


def _fulfilment_hold(*, hold_id: int, actor, codes=FULFILMENT_REASONS) -> Hold:
    hold = _lock(hold_id=hold_id, actor=actor)
    if hold.reason.code not in codes:
        raise ApplicationError("This action settles a shipment mismatch only.")
    if hold.state not in ACTIVE_STATES:
        raise _refuse(hold, "settl")
    return hold


@transaction.atomic
def hold_accept_backorder(*, hold_id: int, actor, reason: str) -> Hold:
    """Accept the short shipment; the rest of the line stays open and ships later."""
    reason = require_reason(reason)
    _fulfilment_hold(hold_id=hold_id, actor=actor, codes=("SHIPMENT_SHORT",))
    return hold_release(
        hold_id=hold_id,
        actor=actor,
        reason=f"Short accepted, rest backordered: {reason}",
        code="BACKORDER",
    )


@transaction.atomic
def hold_close_short(*, hold_id: int, actor, reason: str) -> Hold:
    """Accept the short shipment and close the line at what shipped: nothing more will ship."""
    reason = require_reason(reason)
    hold = _fulfilment_hold(hold_id=hold_id, actor=actor, codes=("SHIPMENT_SHORT",))
    hold = hold_release(
        hold_id=hold_id,
        actor=actor,
        reason=f"Short accepted, line closed: {reason}",
        code="CLOSED_SHORT",
    )
    if hold.state == HoldState.RELEASED:  # not waiting for a second approver
        order_line_close_short(
            actor=actor, order_id=hold.order_id, line_id=hold.line_id, reason=reason
        )
    return hold


@transaction.atomic
def hold_investigate(*, hold_id: int, actor, reason: str) -> Hold:
    """Take the mismatch to investigate with the warehouse: claimed, noted, still open."""
    reason = require_reason(reason)
    hold = _fulfilment_hold(hold_id=hold_id, actor=actor)
    _claim_if_open(hold, actor, "investigate")
    _check_assignee(hold, actor)
    notes = list(hold.context.get("investigation", []))
    notes.append({"by": _who(actor), "at": timezone.now().isoformat(), "note": reason})
    hold.context = hold.context | {"investigation": notes}
    return _save(hold, actor, f"Investigating: {reason}")
