"""The proactive customer-service queue (``orders.models.ShipWatch``): opened for an order a model
expects to ship late, closed by a person with what they did, or by itself once the order has
shipped or been cancelled. The model only queues work: it changes nothing on the order."""

from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import ApplicationError, Conflict, PermissionDenied, require_reason
from core.roles import Role, get_system_user, has_role, is_system_user

from ..models import WATCHED_STATES, Order, OrderState, ShipWatch, WatchAction, WatchState
from ..selectors import orders_for_user


def _who(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else "someone"


def ship_watch_open(
    *, order_id: int, probability: Decimal, requested_date: date, reason: str
) -> ShipWatch | None:
    """Queue the order for customer service, once: None when an entry is already open, or the
    order is no longer released and unshipped (nothing left to prevent)."""
    system = get_system_user()
    with transaction.atomic():
        if not Order.objects.filter(pk=order_id, state__in=WATCHED_STATES).exists():
            return None
        if ShipWatch.objects.filter(order_id=order_id, state=WatchState.OPEN).exists():
            return None
        watch = ShipWatch(
            order_id=order_id,
            probability=probability,
            requested_date=requested_date,
            opened_at=timezone.now(),
        )
        watch._history_user = system
        watch._change_reason = reason[:100]
        try:
            with transaction.atomic():
                watch.save()
        except IntegrityError:
            return None  # another run queued it a moment ago (orders_one_open_watch)
    return watch


def ship_watch_close(*, actor, watch_id: int, action: str, note: str) -> ShipWatch:
    """A person closes an entry with what they did; the second of two closes gets a conflict."""
    if not (is_system_user(actor) or has_role(actor, Role.MANAGER, Role.CUSTOMER_SERVICE)):
        raise PermissionDenied("Only customer service works the orders at risk of shipping late.")
    if action not in WatchAction.values:
        raise ApplicationError("Choose what was done.", {"field": "action"})
    note = require_reason(note)
    with transaction.atomic():
        watch = (
            ShipWatch.objects.select_for_update(of=("self",))
            .select_related("closed_by")
            .filter(pk=watch_id, order__in=orders_for_user(actor))
            .first()
        )
        if watch is None:
            raise PermissionDenied("Entry not found or not yours to close.", {"id": watch_id})
        if watch.state != WatchState.OPEN:
            raise Conflict(
                f"Already closed by {_who(watch.closed_by)} at "
                f"{timezone.localtime(watch.closed_at):%Y-%m-%d %H:%M}: reload the queue."
            )
        watch.state, watch.action, watch.note = WatchState.DONE, action, note
        watch.closed_by, watch.closed_at = actor, timezone.now()
        watch._history_user = actor
        watch._change_reason = f"{WatchAction(action).label}: {note}"[:100]
        watch.save()
    return watch


def ship_watches_settle() -> int:
    """Close the open entries whose order shipped or was cancelled since: nothing is left to
    prevent. Returns how many were closed."""
    system, now, closed = get_system_user(), timezone.now(), 0
    with transaction.atomic():
        stale = list(
            ShipWatch.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(state=WatchState.OPEN)
            .exclude(order__state__in=WATCHED_STATES)
            .select_related("order")
        )
        for watch in stale:
            gone = "cancelled" if watch.order.state == OrderState.CANCELLED else "shipped"
            watch.state, watch.closed_by, watch.closed_at = WatchState.DONE, system, now
            watch.note = f"Order {gone}: nothing left to prevent."
            watch._history_user = system
            watch._change_reason = watch.note
            watch.save()
            closed += 1
    return closed
