"""A model's release of a hold, and a person's undoing of it. The limits live here, beside the
controls they protect, not in the model that asks: whatever a model's confidence, it releases only
an open hold that stops an order's release, of a reason people may override (never a pricing hold:
an accepted price needs a person who owns it), at or below its value
limit, the maker-checker amount and (for a credit hold) the policy's model credit amount, with the
customer's exposure no higher than when the hold was raised. Anything else stays with people, and
the refusal says which limit stopped it."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core.errors import Conflict, PermissionDenied, require_reason
from core.roles import is_model_user
from orders.lifecycle import Step
from orders.models import Order

from ..models import ACTIVE_STATES, Hold, HoldState
from ..models.hold import MODEL_RELEASE
from ..selectors import credit_now, policy_for
from ..signals import hold_reinstated
from .actions import _announce_release
from .evaluation import AMENDED_STATES, EVALUATED_STATES, order_follow_holds
from .locking import lock_hold, run_transition, save_hold, who


def auto_release_refusal(hold: Hold, *, value_limit: Decimal) -> str:
    """Why a model may not release this hold, or "" if it may. Reads the hold as locked."""
    if hold.state != HoldState.OPEN:
        return f"it is {hold.get_state_display().lower()}: a person has it"
    if hold.blocks != Step.RELEASE:
        return "it stops shipping or invoicing, which people decide"
    if not hold.reason.overridable:
        return f"“{hold.reason.description}” cannot be overridden"
    if hold.category == "pricing":
        # a released off-contract price needs a person to own it (order_line_accept_price)
        return "a pricing decision needs a person to own the price"
    if hold.value_at_risk > value_limit:
        return f"its value {hold.value_at_risk:,.2f} is above the model's limit {value_limit:,.2f}"
    policy = policy_for(hold.order.customer.segment)
    amount = hold.approval_amount
    if hold.category == "credit":
        now = credit_now(hold=hold)
        if now is not None and now["overage"] > amount:
            return (
                f"exposure has grown since it was raised (overage {now['overage']:,.2f}, "
                f"was {amount:,.2f})"
            )
        if amount > policy.model_credit_amount:
            return (
                f"its credit overage {amount:,.2f} is above the policy's model credit amount "
                f"{policy.model_credit_amount:,.2f}"
            )
    if amount > policy.maker_checker_amount:
        return (
            f"{amount:,.2f} is above the maker-checker amount "
            f"{policy.maker_checker_amount:,.2f}: a person and a second approver decide"
        )
    return ""


@transaction.atomic
def hold_auto_release(*, hold_id: int, actor, reason: str, value_limit: Decimal) -> Hold:
    """Release a hold as a model version (``actor``: its account) with its explanation as the
    reason, or refuse with a ``Conflict`` naming the limit, changing nothing."""
    if not is_model_user(actor):
        raise PermissionDenied("Only a model in act mode releases holds automatically.")
    reason = require_reason(reason)
    hold = (
        Hold.objects.select_for_update(of=("self",))
        .select_related("order__customer", "reason")
        .filter(pk=hold_id)
        .first()
    )
    if hold is None:
        raise PermissionDenied("Hold not found; nothing was changed.", {"hold_id": hold_id})
    why = auto_release_refusal(hold, value_limit=value_limit)
    if why:
        raise Conflict(f"Not released automatically: {why}.", {"state": hold.state})
    run_transition(hold, "auto_release", actor, by=actor, note=reason, at=timezone.now())
    save_hold(hold, actor, reason)
    order_follow_holds(
        Order.objects.select_for_update(of=("self",)).get(pk=hold.order_id), actor=actor
    )
    _announce_release(hold, actor)
    return hold


@transaction.atomic
def hold_reinstate(*, hold_id: int, actor, reason: str) -> Hold:
    """Undo a model's release: the hold is open in its queue again and the order is held again,
    if it has not shipped. Refused for a release a person made (that decision is theirs)."""
    reason = require_reason(reason)
    hold = lock_hold(hold_id=hold_id, actor=actor)
    if hold.state != HoldState.RELEASED or hold.resolution_code != MODEL_RELEASE:
        raise Conflict(
            "Only a release a model made can be undone here; this hold is "
            f"{hold.get_state_display().lower()}.",
            {"state": hold.state},
        )
    again = (
        Hold.objects.filter(
            order_id=hold.order_id, reason_id=hold.reason_id, scope=hold.scope,
            state__in=ACTIVE_STATES,
        ).exclude(pk=hold.pk).first()
    )  # fmt: skip
    if again is not None:
        raise Conflict("The rules have raised this hold again already; work that one instead.")
    order = Order.objects.select_for_update(of=("self",)).get(pk=hold.order_id)
    if order.state not in AMENDED_STATES | EVALUATED_STATES:
        raise Conflict(
            f"Order {order.number} is {order.get_state_display().lower()}: too late to hold it.",
            {"order_state": order.state},
        )
    released_by = who(hold.resolved_by)
    run_transition(hold, "reinstate", actor, at=timezone.now())
    save_hold(hold, actor, f"Undid the release by {released_by}: {reason}")
    order_follow_holds(order, actor=actor, amended=True)
    hold_reinstated.send(sender=Hold, hold=hold, actor=actor)
    return hold
