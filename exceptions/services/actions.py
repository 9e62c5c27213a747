"""The queue actions on a hold: claim, unclaim, reassign, release (with maker-checker above the
approval amount), approve, reject, escalate; each locked, permission-checked and audited."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from core.bulk import REFUSED, BulkPreview, PreviewRow, unseen
from core.errors import ApplicationError, Conflict, PermissionDenied, require_reason
from core.models import NoticeKind
from core.roles import get_system_user
from orders.models import Order
from orders.services import order_line_accept_price, order_line_close_short, order_transition

from ..models import ACTIVE_STATES, Hold, HoldState, Notification
from ..notifications import notify_managers, notify_people
from ..selectors import credit_now, holds_for_user, policy_for, queues_for_user
from ..signals import hold_released
from .evaluation import order_follow_holds
from .locking import (
    NOT_IN_QUEUES,
    check_assignee,
    check_transition,
    claim_if_open,
    lock_hold,
    orders_edited_by,
    refusal,
    require_not_own_order,
    run_transition,
    save_hold,
    who,
)


@transaction.atomic
def hold_claim(*, hold_id: int, actor) -> Hold:
    hold = lock_hold(hold_id=hold_id, actor=actor)
    run_transition(hold, "claim", actor, by=actor)
    return save_hold(hold, actor, f"Claimed by {who(actor)}")


@transaction.atomic
def hold_unclaim(*, hold_id: int, actor, reason: str) -> Hold:
    reason = require_reason(reason)
    hold = lock_hold(hold_id=hold_id, actor=actor)
    check_assignee(hold, actor)
    run_transition(hold, "unclaim", actor)
    return save_hold(hold, actor, reason)


@transaction.atomic
def hold_reassign(*, hold_id: int, actor, to_user_id: int, reason: str) -> Hold:
    reason = require_reason(reason)
    hold = lock_hold(hold_id=hold_id, actor=actor)
    to = get_user_model().objects.filter(pk=to_user_id, is_active=True).first()
    if to is None or hold.queue not in queues_for_user(to):
        raise ApplicationError("Reassign to an active member of this queue.", {"field": "to_user"})
    run_transition(hold, "reassign", actor, to=to)
    save_hold(hold, actor, f"Reassigned to {who(to)}: {reason}")
    notify_people(
        [to],
        f"{who(actor)} assigned you {hold.reason.description} on {hold.order.number}: {reason}",
        kind=NoticeKind.ASSIGNMENT,
        hold=hold,
        actor=actor,
    )
    return hold


@dataclass(frozen=True)
class ReleaseCheck:
    """What a release of one hold would do, found without changing it: released now, or waiting
    for a second approver because ``approval_amount`` is above ``limit``."""

    needs_second_approval: bool
    approval_amount: Decimal
    limit: Decimal
    exposure_now: Decimal | None = None


def release_check(
    hold: Hold, actor, *, code: str = "OVERRIDE", confirm_exposure: bool = False
) -> ReleaseCheck:
    """Every check ``hold_release`` makes, in its order, raising its refusals, but changing
    nothing: the release itself and the bulk preview (``holds_release_preview``) share it, so the
    preview cannot promise what the release would refuse."""
    if hold.state == HoldState.OPEN:
        # the release claims an open hold first: the claim's own state and permission checks
        check_transition(hold, "claim", actor)
    else:
        check_assignee(hold, actor)
    if not hold.reason.overridable and code == "OVERRIDE":
        raise Conflict(
            f"“{hold.reason.description}” cannot be overridden; fix the cause and re-evaluate."
        )
    require_not_own_order(hold, actor, "release")
    amount, exposure_now = hold.approval_amount, None
    now = credit_now(hold=hold) if code == "OVERRIDE" and hold.is_active else None
    if now is not None and now["overage"] > hold.approval_amount:
        if not confirm_exposure:
            raise ApplicationError(
                f"Exposure is now {now['exposure']:,.2f} ({now['overage']:,.2f} over what is "
                f"allowed); the hold was raised for an overage of {hold.approval_amount:,.2f}. "
                "Confirm to release it for today's figures.",
                {
                    "field": "confirm_exposure",
                    "exposure_now": str(now["exposure"]),
                    "overage_now": str(now["overage"]),
                },
            )
        amount, exposure_now = now["overage"], now["exposure"]
    if hold.state != HoldState.OPEN:
        # release and request_second_approval share their source state and permission
        check_transition(hold, "release", actor)
    limit = policy_for(hold.order.customer.segment).maker_checker_amount
    return ReleaseCheck(amount > limit, amount, limit, exposure_now)


def holds_release_preview(
    *, hold_ids: list[int], actor, confirm_exposure: bool = False
) -> BulkPreview:
    """What a bulk release of ``hold_ids`` would do, row by row, writing nothing and locking
    nothing: the same checks as the release (``release_check``), each hold on its own as the
    bulk release takes them. A hold the actor cannot see is refused like the release refuses it.
    Read-only, though it sits with the writes: it is the release's dry run."""
    holds = {
        hold.pk: hold
        for hold in holds_for_user(actor)
        .select_related("order__customer", "reason", "assignee", "first_approver", "resolved_by")
        .filter(pk__in=hold_ids)
    }
    orders_edited_by(actor, {hold.order_id for hold in holds.values()})
    rows = []
    for hold_id in hold_ids:
        hold = holds.get(hold_id)
        if hold is None:
            rows.append(unseen(hold_id, NOT_IN_QUEUES))
            continue
        outcome, message = REFUSED, ""
        try:
            check = release_check(hold, actor, confirm_exposure=confirm_exposure)
        except ApplicationError as error:
            message = error.message
        else:
            outcome = "waits for a second approver" if check.needs_second_approval else "released"
        rows.append(
            PreviewRow(
                hold.pk,
                f"Hold {hold.pk} · order {hold.order.number}",
                hold.order.customer.name,
                hold.value_at_risk,
                hold.order.currency,
                outcome,
                message,
            )
        )
    return BulkPreview(rows)


@transaction.atomic
def hold_release(
    *,
    hold_id: int,
    actor,
    reason: str,
    code: str = "OVERRIDE",
    confirm_exposure: bool = False,
) -> Hold:
    """Release a hold; above the policy amount it waits for a second approver instead. A credit
    hold whose customer is now further over the limit than when it was raised (orders released
    since) needs ``confirm_exposure``: the release then covers today's overage."""
    reason = require_reason(reason)
    hold = lock_hold(hold_id=hold_id, actor=actor)
    check = release_check(hold, actor, code=code, confirm_exposure=confirm_exposure)
    claim_if_open(hold, actor, "release")
    if check.exposure_now is not None:
        # the decision covers today's overage, and the maker-checker limit is read against it
        hold.approval_amount = check.approval_amount
        hold.context = {**hold.context, "exposure_now": str(check.exposure_now)}
    if check.needs_second_approval:
        run_transition(hold, "request_second_approval", actor, by=actor, code=code, note=reason)
        return save_hold(
            hold,
            actor,
            f"Released by {who(actor)}, awaiting a second approver "
            f"({hold.approval_amount} is above {check.limit}): {reason}",
        )
    run_transition(hold, "release", actor, by=actor, code=code, note=reason, at=timezone.now())
    save_hold(hold, actor, reason)
    if hold.category == "pricing" and hold.line_id and code == "OVERRIDE":
        # The analyst accepted an off-contract price: finance's maker-checker must know who.
        order_line_accept_price(
            actor=actor, order_id=hold.order_id, line_id=hold.line_id, reason=reason
        )
    order_follow_holds(
        Order.objects.select_for_update(of=("self",)).get(pk=hold.order_id), actor=actor
    )
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
    hold = lock_hold(hold_id=hold_id, actor=actor)
    if hold.first_approver_id == actor.pk:
        raise PermissionDenied("You released this hold; a different person must approve it.")
    require_not_own_order(hold, actor, "approve")
    run_transition(hold, "approve", actor, by=actor, note=reason, at=timezone.now())
    save_hold(hold, actor, f"Second approval by {who(actor)}: {reason}")
    _tell_first_approver(hold, actor, "approved", reason)
    if hold.resolution_code == "CLOSED_SHORT":  # the first approver chose to close the line
        order_line_close_short(
            actor=actor, order_id=hold.order_id, line_id=hold.line_id, reason=reason
        )
    order_follow_holds(
        Order.objects.select_for_update(of=("self",)).get(pk=hold.order_id), actor=actor
    )
    _announce_release(hold, actor)
    return hold


def _tell_first_approver(hold: Hold, actor, outcome: str, reason: str) -> None:
    """Maker-checker: the person who released and asked for a second approval hears the end."""
    notify_people(
        [hold.first_approver],
        f"Your release of {hold.reason.description} on {hold.order.number} was {outcome} by "
        f"{who(actor)}: {reason}",
        kind=NoticeKind.APPROVAL,
        hold=hold,
        actor=actor,
    )


@transaction.atomic
def hold_reject(*, hold_id: int, actor, reason: str, confirm_cancel: bool) -> Hold:
    """Reject a hold: the order is cancelled, so the user must confirm that first."""
    reason = require_reason(reason)
    if not confirm_cancel:
        raise ApplicationError(
            "Rejecting cancels the order. Confirm to go ahead.", {"field": "confirm_cancel"}
        )
    hold = lock_hold(hold_id=hold_id, actor=actor)
    check_assignee(hold, actor)
    claim_if_open(hold, actor, "reject")
    awaited_approval = hold.state == HoldState.AWAITING_SECOND_APPROVAL
    now = timezone.now()
    run_transition(hold, "reject", actor, by=actor, code="REJECTED", note=reason, at=now)
    save_hold(hold, actor, reason)
    if awaited_approval:
        _tell_first_approver(hold, actor, "rejected (the order is cancelled)", reason)
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
        save_hold(other, system, "Order cancelled by a rejected hold")
    order_transition(
        actor=system,
        order_id=hold.order_id,
        transition="cancel",
        reason=f"{hold.reason.description} rejected by {who(actor)}: {reason}",
    )
    return hold


@transaction.atomic
def hold_escalate(*, hold_id: int, actor, reason: str) -> Hold:
    reason = require_reason(reason)
    hold = lock_hold(hold_id=hold_id, actor=actor)
    if hold.state not in ACTIVE_STATES:
        raise refusal(hold, "escalat")
    return _escalate(hold, actor=actor, reason=reason)


def _escalate(hold: Hold, *, actor, reason: str) -> Hold:
    hold.escalation_level += 1
    weight = policy_for(hold.order.customer.segment).segment_weight
    # Priority = value at risk × segment weight × (1 + escalation level): the level is the age
    # measure, rising once per SLA period overdue, so the score stays stored and sortable.
    hold.priority_score = (hold.value_at_risk * weight * (1 + hold.escalation_level)).quantize(
        Decimal("0.01")
    )
    save_hold(hold, actor, f"Escalated to level {hold.escalation_level}: {reason}")
    notify_managers(
        hold,
        f"{hold.reason.description} on {hold.order.number} escalated to level "
        f"{hold.escalation_level}: {reason}",
        actor=actor,
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
def notifications_mark_read(*, actor) -> int:
    """Mark the user's notifications read (operational state, not audited)."""

    return Notification.objects.filter(user=actor, read_at__isnull=True).update(
        read_at=timezone.now()
    )
