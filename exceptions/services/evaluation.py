"""The one evaluation path: a batch of orders judged by the rules on facts read set-wise
(``exceptions.facts.BatchFacts``). An order entered, edited or re-evaluated is a batch of one
(``order_evaluate``: its holds reconciled with the ones it has, the order held or released); a
burst of imported orders is a batch of hundreds (``orders_evaluate_imported``: holds inserted in
bulk, each order stored in the state its holds give it). Holds raised and cleared by other apps
(billing, integrations) are here too."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core.audit import save_audited
from core.models import NoticeKind
from core.money import CENT
from core.pgcopy import copy_create_with_history, maker
from core.roles import get_system_user
from orders.imports import orders_conclude_import
from orders.lifecycle import Step
from orders.models import Order, OrderLine, OrderState
from orders.services import order_place_on_hold, order_release

from ..decisions import beyond_decision, material_changes, reraise_note
from ..facts import BatchFacts, judged_lines
from ..models import ACTIVE_STATES, Hold, HoldReason, HoldState
from ..notifications import notify_people
from ..rules import Finding, evaluate
from ..selectors import ResolvedPolicy, policies_for, policy_for
from .locking import order_state, save_hold, who

EVALUATED_STATES = {OrderState.RECEIVED, OrderState.ON_HOLD}
#: Released but not shipped: judged again only after an upstream amendment.
AMENDED_STATES = {OrderState.RELEASED, OrderState.ALLOCATED}
RULE_CATEGORIES = {"credit", "pricing", "inventory", "master_data", "anomaly"}
CONCLUSIONS = {"held": "Holds raised by rules", "released": "Touchless: no hold raised"}


@dataclass
class Judgement:
    """What the rules found on one order of a batch, under the policy of its segment."""

    order: Order
    policy: ResolvedPolicy
    findings: list[tuple[Finding, HoldReason]]  # only those whose reason is switched on
    blocking: bool  # a finding's hold blocks the order's release


def orders_judge(orders: list[Order], lines_of: dict[int, list[OrderLine]]) -> list[Judgement]:
    """Run the rules on each order in turn, each seeing the ones before it. Takes the orders'
    customers' credit locks (held to the commit): call it in the transaction that acts on it."""
    policies = policies_for({order.customer.segment for order in orders})
    reasons = {reason.code: reason for reason in HoldReason.objects.filter(active=True)}
    batch = BatchFacts(
        orders, lines_of, depth=max(policy.anomaly_history_orders for policy in policies.values())
    )
    judged = []
    for order in orders:
        policy, lines = policies[order.customer.segment], lines_of[order.pk]
        facts = batch.facts(order, lines, history_orders=policy.anomaly_history_orders)
        findings = [
            (finding, reasons[finding.reason_code])
            for finding in evaluate(facts, policy.thresholds)
            if finding.reason_code in reasons  # an admin may have switched a reason off
        ]
        blocking = any(reason.blocks == Step.RELEASE for _, reason in findings)
        batch.record(order, lines, released=not blocking)
        judged.append(Judgement(order, policy, findings, blocking))
    return judged


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
def order_evaluate(*, order_id: int, actor=None, amended: bool = False) -> list[Hold]:
    """Run the rules on an order; open a hold per new finding, clear holds whose cause is gone,
    then put the order on hold or release it. Safe to run any number of times. ``amended``: the
    order was just amended upstream, so a released or allocated (not yet shipped) order is judged
    too, and goes back on hold if a release-blocking hold is raised (the WMS is then told not to
    ship)."""
    actor = actor or get_system_user()
    order = (
        Order.objects.select_for_update(of=("self",)).select_related("customer").get(pk=order_id)
    )
    if order.state not in EVALUATED_STATES and not (amended and order.state in AMENDED_STATES):
        return []
    lines = judged_lines(order)
    [judged] = orders_judge([order], {order.pk: lines})
    existing = {
        (hold.reason.code, hold.scope): hold
        for hold in Hold.objects.filter(order=order).select_related("reason").order_by("raised_at")
        # a person's release is a decision: it stands until the order changes materially
        if hold.state in ACTIVE_STATES or hold.resolution_code not in ("", "CLEARED")
    }
    now = timezone.now()
    raised, found_keys, order_now = [], set(), None
    for finding, reason in judged.findings:
        scope = f"line:{finding.line_id}" if finding.line_id else "order"
        found_keys.add((reason.code, scope))
        earlier = existing.get((reason.code, scope))
        note = None
        if earlier is not None and earlier.state in ACTIVE_STATES:
            # still found: the hold waits with today's figures, which maker-checker reads
            _refresh(earlier, finding, judged.policy, actor=actor, at=now)
            continue
        if earlier is not None:
            order_now = order_now or order_state(order, lines)
            note = _decision_outcome(earlier, finding, order_now, judged.policy, actor=actor)
            if note is None:
                continue  # the decision stands
        hold = hold_for_finding(order, finding, reason, judged.policy, at=now, actor=actor)
        if note is not None:
            hold.context = {**hold.context, "earlier_decision": earlier.decision}
            hold._change_reason = f"Raised again by rule: {note}"
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
    order_follow_holds(order, actor=actor, amended=amended)
    return raised


def _refresh(hold: Hold, finding: Finding, policy, *, actor, at) -> None:
    """An open hold found again takes the finding's figures: the amount a release is checked
    against (maker-checker's limit, the decision it records) is the order's as it is now, not
    as it was when the hold was raised. A release waiting for its second approver whose amount
    grew goes back to its first approver: they released less than it is now for."""
    value = finding.value_at_risk.quantize(CENT)
    amount = _approval_amount(finding).quantize(CENT)
    if (value, amount) == (hold.value_at_risk, hold.approval_amount):
        return
    before = hold.approval_amount
    hold.value_at_risk, hold.approval_amount = value, amount
    hold.priority_score = (finding.value_at_risk * policy.segment_weight).quantize(CENT)
    kept = {key: hold.context[key] for key in ("earlier_decision",) if key in hold.context}
    hold.context = {**finding.context, **kept}  # the decision it was raised again after stays
    why = f"Figures updated on re-evaluation: amount {before:,.2f} → {amount:,.2f}"
    first = hold.first_approver
    sent_back = hold.state == HoldState.AWAITING_SECOND_APPROVAL and amount > before
    if sent_back:
        hold.send_back()  # whoever's edit it follows: o2c sends it back, not that person
        why += f"; sent back to {who(first)}, who released {before:,.2f}, to decide again"
    save_hold(hold, actor, why)
    if sent_back:
        notify_people(
            [first],
            f"Hold {hold.pk} on order {hold.order.number} is now for {amount:,.2f}, more than "
            f"the {before:,.2f} you released: it is back with you to decide again.",
            kind=NoticeKind.ASSIGNMENT,
            hold=hold,
            actor=actor,
        )


def _decision_outcome(decided: Hold, finding: Finding, order_now: dict, policy, *, actor):
    """Whether a person's release still covers what the rules find now: None when it does (the
    hold's history says so once per state of the order), else the note a new hold carries."""
    decision = decided.decision
    if not decision or "order" not in decision:
        return None  # released before decisions were recorded: it stands, as it always did
    if order_now == decision["order"]:
        return None  # the order has not changed since the decision
    changes = material_changes(decision["order"], order_now, policy.materiality)
    found = _approval_amount(finding).quantize(CENT)
    if changes and beyond_decision(Decimal(decision["amount"]), found):
        return reraise_note(decision, finding.context, changes)
    if decision.get("checked") != order_now:  # say so once for each new state of the order
        decided.decision = {**decision, "checked": order_now}
        why = (
            f"the change is material ({'; '.join(changes)}) but no more than was released "
            f"({found:,.2f} against {Decimal(decision['amount']):,.2f})"
            if changes
            else "the change is not material under the policy"
        )
        # not save_hold: the hold stays as it was closed, nothing downstream is told again
        save_audited(
            decided,
            actor=actor,
            reason=f"Decision kept: {why}",
            conflict="Someone else changed this hold a moment ago; reload to see it.",
        )
    return None


@transaction.atomic
def orders_evaluate_imported(*, orders: list[Order], actor) -> list[Order]:
    """Raise each imported order's holds, then store it held or released; returns the released
    ones. ``orders`` come from ``orders.imports.orders_import`` (state received, lines attached;
    their rows are inserted as they are concluded, so nothing here reads them back)."""
    if not orders:
        return []
    holds, held = [], set()
    for judged in orders_judge(orders, {order.pk: order.imported_lines for order in orders}):
        order = judged.order
        for finding, reason in judged.findings:
            hold = hold_for_finding(
                order, finding, reason, judged.policy, at=order.received_at, actor=actor
            )
            hold._history_date = order.received_at
            holds.append(hold)
        if judged.blocking:
            held.add(order.pk)
    if holds:
        copy_create_with_history(Hold, holds, default_user=actor)
    return orders_conclude_import(
        actor=actor,
        orders=orders,
        held=held,
        at=max(order.received_at for order in orders),
        reasons=CONCLUSIONS,
    )


def order_follow_holds(order: Order, *, actor, amended: bool = False) -> None:
    """Hold the order while a release-blocking hold is active; release it when none is left.
    A released order goes back on hold only after an upstream amendment (``amended``)."""
    blocking = Hold.objects.filter(
        order=order, blocks=Step.RELEASE, state__in=ACTIVE_STATES
    ).exists()
    system = get_system_user()
    if blocking and order.state == OrderState.RECEIVED:
        order_place_on_hold(actor=system, order_id=order.pk, reason="Holds raised by rules")
    elif blocking and amended and order.state in AMENDED_STATES:
        order_place_on_hold(
            actor=system, order_id=order.pk, reason="Holds raised by rules after an amendment"
        )
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
    value = (value if value is not None else order.total).quantize(CENT)
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
        priority_score=(value * weight).quantize(CENT),
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


def holds_close_for_cancelled(*, order, actor) -> int:
    """The order was just cancelled (inside that transaction, the order locked): every hold
    still active on it has nothing left to decide, so each is cleared with who cancelled it,
    and no queue keeps work for an order that will never ship. Holds raised later (the WMS
    answering that it had already shipped) stay open. Returns how many were cleared."""
    holds = list(
        Hold.objects.select_for_update(of=("self",)).filter(
            order_id=order.pk, state__in=ACTIVE_STATES
        )
    )
    if not holds:
        return 0
    now = timezone.now()
    note = f"Order {order.number} cancelled by {who(actor)}; nothing left to decide"
    for hold in holds:
        hold.clear(by=actor, note=note, at=now)
        save_hold(hold, actor, f"Cleared: {note}")
    return len(holds)
