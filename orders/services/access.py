"""Who may write an order, and when: the writer check, the states open to edits, the order
locked through the actor's rows, and the customers' credit locks."""

from core.errors import PermissionDenied
from core.roles import Role, has_role, is_system_user

from ..models import Customer, Order, OrderState
from ..selectors import orders_for_user

#: States in which the order's lines may still be edited by customer service.
EDITABLE_STATES = {OrderState.RECEIVED, OrderState.ON_HOLD}


def require_writer(actor, *roles: str) -> None:
    roles = roles or (Role.CUSTOMER_SERVICE,)
    if not (is_system_user(actor) or has_role(actor, Role.MANAGER, *roles)):
        raise PermissionDenied("Your role may not change this order.")


def lock_order(*, order_id: int, actor) -> Order:
    """Lock the order row for this transaction, through the actor's row-scoped queryset."""
    order = orders_for_user(actor).select_for_update(of=("self",)).filter(pk=order_id).first()
    if order is None:
        raise PermissionDenied("Order not found or not yours to change.", {"order_id": order_id})
    return order


def lock_credit(customer_ids) -> None:
    """Take the customers' credit locks until the transaction ends: their rows, FOR NO KEY UPDATE
    (new orders may still refer to them; only another holder waits), in id order so that two
    holders cannot deadlock. An order released adds to its customer's exposure, and a credit
    check reads that exposure: each does so under this lock, so a check waits for a release (or
    another import's releases) in flight instead of leaving it out and passing a limit that only
    one of the two orders fits under."""
    list(
        Customer.objects.select_for_update(no_key=True)
        .filter(pk__any=customer_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
