"""What every hold write shares: the hold locked through the actor's queues, a refusal that says
why, a transition run with its permission checked, and the save with its history author and reason."""

from django.utils import timezone
from django_fsm import can_proceed, has_transition_perm

from core.audit import save_audited
from core.errors import ApplicationError, Conflict, PermissionDenied
from core.roles import is_system_user
from orders.models import Order

from ..decisions import order_state_of
from ..models import ACTIVE_STATES, Hold, HoldState
from ..selectors import holds_for_user
from ..signals import hold_closed


def who(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else "someone"


#: The refusal of a hold the actor cannot see (outside their queues or territory, or no such id).
NOT_IN_QUEUES = "Hold not found or not in your queues; nothing was changed."


def lock_hold(*, hold_id: int, actor) -> Hold:
    hold = (
        holds_for_user(actor)
        .select_for_update(of=("self",))
        .select_related("order", "reason", "assignee")
        .filter(pk=hold_id)
        .first()
    )
    if hold is None:
        raise PermissionDenied(NOT_IN_QUEUES, {"hold_id": hold_id})
    return hold


def refusal(hold: Hold, action: str) -> ApplicationError:
    if hold.state in (HoldState.RELEASED, HoldState.REJECTED):
        when = (
            timezone.localtime(hold.resolved_at).strftime("%Y-%m-%d %H:%M")
            if hold.resolved_at
            else "earlier"
        )
        return Conflict(
            f"Already {hold.get_state_display().lower()} by {who(hold.resolved_by)} at {when}.",
            {"state": hold.state},
        )
    if hold.state == HoldState.CLAIMED and action == "claim":
        return Conflict(f"Already claimed by {who(hold.assignee)}.", {"state": hold.state})
    if hold.state == HoldState.AWAITING_SECOND_APPROVAL and action != "approve":
        return Conflict(
            f"Waiting for a second approver since {who(hold.first_approver)} released it.",
            {"state": hold.state},
        )
    return Conflict(
        f"A hold that is {hold.get_state_display().lower()} cannot be {action}ed.",
        {"state": hold.state},
    )


def check_transition(hold: Hold, name: str, actor) -> None:
    """Refuse, saying why, a transition the hold's state or the actor's role does not allow."""
    method = getattr(hold, name)
    if not can_proceed(method):
        raise refusal(hold, name)
    if not has_transition_perm(method, actor):
        raise PermissionDenied("Only the queue's team may act on this hold.")


def run_transition(hold: Hold, name: str, actor, **kwargs) -> None:
    check_transition(hold, name, actor)
    getattr(hold, name)(**kwargs)


def order_state(order, lines=None) -> dict:
    """The order as a release decision records it (``exceptions.decisions.order_state_of``)."""
    lines = order.lines.filter(cancelled=False) if lines is None else lines
    return order_state_of(
        total=order.total,
        ship_to_id=order.ship_to_id,
        customer_id=order.customer_id,
        lines=[(line.pk, line.ordered_qty, line.unit_price) for line in lines],
    )


def decision_of(hold: Hold) -> dict:
    """What a person's release decided: the numbers the hold was raised for, the amount released,
    who and when, and the order as it was."""
    at = hold.resolved_at or timezone.now()
    return {
        "by": who(hold.first_approver or hold.resolved_by),
        "at": at.isoformat(),
        # stored text, read by everyone: in the server's zone, named, whoever released it
        "at_local": timezone.localtime(at, timezone.get_default_timezone()).strftime(
            "%Y-%m-%d %H:%M %Z"
        ),
        "amount": str(hold.approval_amount),
        "numbers": hold.context,
        "order": order_state(hold.order),
    }


def save_hold(hold: Hold, actor, reason: str) -> Hold:
    """Save a hold's change with its author and reason. A person's release records its decision
    (``decision_of``); a hold that left the active states is announced inside the transaction
    (``hold_closed``), e.g. so the WMS hears of an order that may now ship, in the same commit."""
    if hold.state == HoldState.RELEASED and hold.resolution_code != "CLEARED" and not hold.decision:
        hold.decision = decision_of(hold)
    save_audited(
        hold,
        actor=actor,
        reason=reason,
        conflict="Someone else changed this hold a moment ago; reload to see it.",
    )
    if hold.state not in ACTIVE_STATES:
        hold_closed.send(sender=Hold, hold=hold)
    return hold


def require_not_own_order(hold: Hold, actor, action: str) -> None:
    """Maker-checker: nobody, superusers included, approves an order they entered or edited.
    Edited at any time, not only last: every person's edit stamps the order's
    ``last_edited_by``, and its history keeps each stamp, so a colleague's later edit (or an
    ERP amendment) does not clear the way for the person who changed the order."""
    order = hold.order
    if is_system_user(actor):
        return
    known = getattr(actor, "_o2c_orders_edited", {}).get(order.pk)
    edited = actor.pk in (order.entered_by_id, order.last_edited_by_id) or (
        known
        if known is not None
        else Order.history.filter(id=order.pk, last_edited_by_id=actor.pk).exists()
    )
    if edited:
        raise PermissionDenied(
            f"You entered or edited order {order.number}; someone else must {action} its holds."
        )


def check_assignee(hold: Hold, actor) -> None:
    if hold.state == HoldState.CLAIMED and hold.assignee_id not in (None, actor.pk):
        raise Conflict(f"Claimed by {who(hold.assignee)}; ask them, or reassign it first.")


def claim_if_open(hold: Hold, actor, purpose: str) -> None:
    """Acting on an unclaimed hold claims it first, so history shows who took it."""
    if hold.state == HoldState.OPEN:
        run_transition(hold, "claim", actor, by=actor)
        save_hold(hold, actor, f"Claimed by {who(actor)} to {purpose}")


def orders_edited_by(actor, order_ids) -> None:
    """Read at once which of ``order_ids`` the actor ever edited, for a batch of checks (a bulk
    preview): one query, where each hold's ``require_not_own_order`` would read its own."""
    order_ids = set(order_ids)
    edited = set(
        Order.history.filter(id__in=order_ids, last_edited_by_id=actor.pk).values_list(
            "id", flat=True
        )
    )
    cache = getattr(actor, "_o2c_orders_edited", {})
    cache.update({order_id: order_id in edited for order_id in order_ids})
    actor._o2c_orders_edited = cache
