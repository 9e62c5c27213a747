"""The order lifecycle steps: manual transitions, release and hold, shipped and invoiced
quantities, and closing a line short; each refused with the reason when it cannot happen."""

from decimal import Decimal

from django.db import transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone
from django_fsm import TransitionNotAllowed, can_proceed, has_transition_perm

from core.audit import save_audited
from core.errors import ApplicationError, Conflict, PermissionDenied, require_reason
from core.roles import Role, get_system_user

from ..extensions import blocking_reasons
from ..lifecycle import Step
from ..models import Order, OrderLine, OrderState
from ..signals import order_transitioned, order_transitioning
from .access import lock_credit, lock_order, require_writer

#: Transitions a person may trigger from the order page or admin; the rest follow events.
MANUAL_TRANSITIONS = ("place_on_hold", "release", "allocate", "close", "cancel")
_STEP_OF = {
    "release": Step.RELEASE,
    "allocate": Step.SHIP,
    "invoice": Step.INVOICE,
    "invoice_partially": Step.INVOICE,
}


def _explain_refusal(order: Order, name: str, actor) -> ApplicationError:
    method = getattr(order, name)
    if not method._django_fsm.has_transition(order.state):
        return Conflict(
            f"Order {order.number} is {order.get_state_display().lower()}; "
            f"“{name.replace('_', ' ')}” is not possible from there.",
            {"state": order.state, "transition": name},
        )
    reasons = blocking_reasons(order, _STEP_OF[name]) if name in _STEP_OF else []
    if reasons:
        return Conflict(
            f"Order {order.number} is blocked: {'; '.join(reasons)}.",
            {"state": order.state, "transition": name, "blocked_by": reasons},
        )
    if not has_transition_perm(method, actor) and can_proceed(method):
        return PermissionDenied("Your role may not do that to this order.", {"transition": name})
    return Conflict(
        f"Order {order.number} does not meet the conditions to {name.replace('_', ' ')}.",
        {"state": order.state, "transition": name},
    )


def order_apply_transition(order: Order, name: str, *, actor, reason: str, **kwargs) -> Order:
    """Run one lifecycle transition on a locked order, or raise a clear error and change nothing."""
    method = getattr(order, name)
    # the permission first (no query), then the transition itself, which checks the state and
    # the conditions once: can_proceed() and has_transition_perm() would each evaluate the hold
    # guards again, a query apiece on every shipment and invoice
    if not method._django_fsm.has_transition_perm(order, order.state, actor):
        raise _explain_refusal(order, name, actor)
    if name == "release":  # the order's value joins its customer's credit exposure
        lock_credit([order.customer_id])
    source = order.state
    try:
        method(**kwargs)
    except TransitionNotAllowed:
        raise _explain_refusal(order, name, actor) from None
    save_audited(
        order,
        actor=actor,
        reason=reason,
        conflict=f"Order {order.number} was changed by someone else; reload and retry.",
    )
    target = order.state
    order_transitioning.send(
        sender=Order, order=order, transition=name, source=source, target=target, actor=actor
    )
    transaction.on_commit(
        lambda: order_transitioned.send_robust(
            sender=Order, order_id=order.pk, transition=name, source=source, target=target
        )
    )
    return order


@transaction.atomic
def order_transition(*, actor, order_id: int, transition: str, reason: str) -> Order:
    """A manual lifecycle step from the order page or admin (release, allocate, cancel, ...)."""
    reason = require_reason(reason)
    if transition not in MANUAL_TRANSITIONS:
        raise ApplicationError(
            f"“{transition}” cannot be triggered by hand.", {"transition": transition}
        )
    order = lock_order(order_id=order_id, actor=actor)
    if transition == "release":
        return order_apply_transition(
            order, "release", actor=actor, reason=reason, at=timezone.now()
        )
    if transition == "allocate":
        order_apply_transition(order, "allocate", actor=actor, reason=reason)
        lines = list(order.lines.all())
        for line in lines:
            line.allocated_qty = line.ordered_qty
        _save_lines(lines, ["allocated_qty"], actor=actor, reason=reason)
        return order
    return order_apply_transition(order, transition, actor=actor, reason=reason)


@transaction.atomic
def order_release(*, actor, order_id: int, reason: str) -> Order:
    """Release an order whose blocking holds are all cleared (or that never had one)."""
    order = lock_order(order_id=order_id, actor=actor)
    return order_apply_transition(
        order, "release", actor=actor, reason=require_reason(reason), at=timezone.now()
    )


@transaction.atomic
def order_place_on_hold(*, actor, order_id: int, reason: str) -> Order:
    order = lock_order(order_id=order_id, actor=actor)
    if order.state == OrderState.ON_HOLD:
        return order  # idempotent: a second hold on a held order changes nothing here
    return order_apply_transition(
        order, "place_on_hold", actor=actor, reason=require_reason(reason)
    )


def _history_of_lines(lines: list[OrderLine], *, actor, reason: str) -> None:
    """The lines' history rows as they stand, authored as a save() would record them."""
    for line in lines:
        line._history_user = actor
        line._change_reason = reason
    OrderLine.history.bulk_history_create(
        lines, update=True, default_user=actor, default_change_reason=reason
    )


def _save_lines(lines: list[OrderLine], fields: list[str], *, actor, reason: str) -> None:
    """Save changed lines in one UPDATE and their history rows in one INSERT (the per-line
    ``save()`` cost two round trips a line on every shipment and invoice)."""
    if not lines:
        return
    OrderLine.objects.bulk_update(lines, fields)
    _history_of_lines(lines, actor=actor, reason=reason)


def _add_quantities(order: Order, quantities: dict[int, Decimal], field: str) -> list[OrderLine]:
    """Add ``quantities`` to ``field`` of the order's (prefetched) lines, in memory; returns the
    lines changed. The transition's conditions (fully shipped? invoiced?) then read these same
    lines instead of querying them again for each check."""
    lines = {line.pk: line for line in order.lines.all()}
    unknown = set(quantities) - lines.keys()
    if unknown:
        raise ApplicationError(
            "Quantities name lines that are not on this order.", {"lines": sorted(unknown)}
        )
    for line_id, quantity in quantities.items():
        if quantity < 0:
            raise ApplicationError("Quantities cannot be negative.", {"line": line_id})
        line = lines[line_id]
        setattr(line, field, getattr(line, field) + quantity)
    return [lines[pk] for pk in quantities]


def _record_quantities(
    order: Order, quantities: dict[int, Decimal], field: str, actor, reason: str
):
    prefetch_related_objects([order], "lines")
    changed = _add_quantities(order, quantities, field)
    _save_lines(changed, [field], actor=actor, reason=reason)


#: States from which a WMS confirmation records shipped quantities (released: allocated first).
SHIP_FROM = {OrderState.ALLOCATED, OrderState.PARTIALLY_SHIPPED, OrderState.PARTIALLY_INVOICED}


@transaction.atomic
def order_record_shipment(
    *,
    actor,
    order_id: int,
    quantities: dict[int, Decimal],
    reason: str,
    allocate_reason: str | None = None,
) -> Order:
    """Add shipped quantities per line, then move the order to shipped or partially shipped.
    With ``allocate_reason``, a released order is allocated first (the WMS confirms both at
    once), under the same lock and in the same UPDATE of its lines; each line's history still
    tells the allocation and the shipment apart. The returned order carries its lines (and
    their items), as they now are."""
    order = lock_order(order_id=order_id, actor=actor)
    allocating = allocate_reason is not None and order.state == OrderState.RELEASED
    if not allocating and order.state not in SHIP_FROM:
        raise Conflict(
            f"Order {order.number} is {order.get_state_display().lower()}; it cannot ship yet."
            if order.state in (OrderState.RECEIVED, OrderState.ON_HOLD, OrderState.RELEASED)
            else f"Order {order.number} is {order.get_state_display().lower()}; it cannot ship."
        )
    prefetch_related_objects([order], Prefetch("lines", OrderLine.objects.select_related("item")))
    fields = ["shipped_qty"]
    if allocating:
        order_apply_transition(
            order, "record_allocation", actor=actor, reason=require_reason(allocate_reason)
        )
        lines = list(order.lines.all())
        for line in lines:
            line.allocated_qty = line.ordered_qty
        _history_of_lines(lines, actor=actor, reason=allocate_reason)
        fields.append("allocated_qty")
    shipped = _add_quantities(order, quantities, "shipped_qty")
    # allocated, every line changed; else only the shipped ones
    OrderLine.objects.bulk_update(list(order.lines.all()) if allocating else shipped, fields)
    _history_of_lines(shipped, actor=actor, reason=reason)
    name = "ship" if order.fully_shipped() else "ship_partially"
    return order_apply_transition(order, name, actor=actor, reason=require_reason(reason))


@transaction.atomic
def order_record_invoice(
    *,
    actor,
    order_id: int,
    quantities: dict[int, Decimal],
    amount: Decimal = Decimal("0"),
    reason: str,
) -> Order:
    """Add invoiced quantities per line, and ``amount`` (what the invoice bills of the order,
    tax included) to what is invoiced, then move the order to invoiced or partially invoiced."""
    order = lock_order(order_id=order_id, actor=actor)
    if order.state not in {
        OrderState.SHIPPED,
        OrderState.PARTIALLY_SHIPPED,
        OrderState.PARTIALLY_INVOICED,
    }:
        raise Conflict(
            f"Order {order.number} is {order.get_state_display().lower()}; it cannot be invoiced."
        )
    _record_quantities(order, quantities, "invoiced_qty", actor, reason)
    order.invoiced_amount += amount
    name = "invoice" if order.fully_invoiced() else "invoice_partially"
    return order_apply_transition(order, name, actor=actor, reason=require_reason(reason))


@transaction.atomic
def order_line_close_short(*, actor, order_id: int, line_id: int, reason: str) -> OrderLine:
    """After a short shipment, close the line at what shipped: nothing more ships or invoices for
    it, and the order moves on to shipped (or invoiced) if that was all it waited for."""
    require_writer(actor, Role.WAREHOUSE)
    reason = require_reason(reason)
    order = lock_order(order_id=order_id, actor=actor)
    lines = list(order.lines.select_related("item"))
    line = next((line for line in lines if line.pk == line_id), None)
    if line is None or line.cancelled:
        raise ApplicationError("That line is not open on this order.", {"field": "line"})
    if line.short_closed:
        raise Conflict(f"Line {line.line_number} is already closed short.")
    if line.shipped_qty >= line.ordered_qty:
        raise Conflict(f"Line {line.line_number} shipped in full; there is nothing to close.")
    if order.state not in SHIPPED_SO_FAR:
        raise Conflict(
            f"Order {order.number} is {order.get_state_display().lower()}; "
            "only a line of a shipping order can be closed short."
        )
    line.short_closed = True
    line._history_user = actor
    line._change_reason = reason
    line.save(update_fields=["short_closed"])
    _settle_state(order, actor=actor, reason=reason)
    return line


#: States in which some of the order has shipped and more may still ship or invoice.
SHIPPED_SO_FAR = {
    OrderState.PARTIALLY_SHIPPED,
    OrderState.SHIPPED,
    OrderState.PARTIALLY_INVOICED,
}


def _settle_state(order: Order, *, actor, reason: str) -> None:
    """Move the order as far as its lines now allow: shipped in full, then invoiced in full. These
    steps follow from the facts, so the system takes them (the line change names the person)."""
    system = get_system_user()
    if order.state == OrderState.PARTIALLY_SHIPPED and order.fully_shipped():
        order_apply_transition(order, "ship", actor=system, reason=reason)
    if order.state in {OrderState.SHIPPED, OrderState.PARTIALLY_INVOICED} and (
        order.fully_invoiced()
    ):
        order_apply_transition(order, "invoice", actor=system, reason=reason)
