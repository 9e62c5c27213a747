"""Remedies for particular causes: correct a price, approve a partial, fix master data, re-evaluate,
cancel or substitute a line, and settle a shipment mismatch (backorder, close short, investigate)."""

from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError, require_reason
from orders.services import (
    customer_update_master_data,
    order_line_cancel,
    order_line_close_short,
    order_line_set_price,
    order_line_substitute,
    order_set_ship_to,
)

from ..models import ACTIVE_STATES, Hold, HoldState
from .actions import hold_release
from .evaluation import order_evaluate
from .locking import check_assignee, claim_if_open, lock_hold, refusal, save_hold, who


@transaction.atomic
def hold_correct_price(*, hold_id: int, actor, reason: str) -> Hold:
    """Pricing: set the line to its contract (or list) price; re-evaluation then clears the hold."""

    reason = require_reason(reason)
    hold = lock_hold(hold_id=hold_id, actor=actor)
    if hold.category != "pricing" or hold.line_id is None:
        raise ApplicationError("Only a pricing hold on a line can be corrected to contract.")
    if hold.state not in ACTIVE_STATES:
        raise refusal(hold, "correct")
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
    hold = lock_hold(hold_id=hold_id, actor=actor)
    if hold.reason.code != "STOCK_SHORT":
        raise ApplicationError("A partial shipment can only settle a stock shortage.")
    hold.context = hold.context | {
        "approved_partial": hold.context.get("available"),
        "backorder": hold.context.get("short"),
    }
    save_hold(hold, actor, "Partial shipment approved")
    return hold_release(hold_id=hold_id, actor=actor, reason=reason, code="PARTIAL_BACKORDER")


@transaction.atomic
def hold_fix_master_data(
    *, hold_id: int, actor, payment_terms: str, tax_region: str, ship_to_id: int | None, reason: str
) -> Hold:
    """Customer service fills in what is missing, then the order is re-evaluated at once."""

    reason = require_reason(reason)
    hold = lock_hold(hold_id=hold_id, actor=actor)
    if hold.reason.code != "MASTER_DATA_MISSING":
        raise ApplicationError("Only a master-data hold is fixed this way.")
    if hold.state not in ACTIVE_STATES:
        raise refusal(hold, "fix")
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
    hold = lock_hold(hold_id=hold_id, actor=actor)
    order_evaluate(order_id=hold.order_id, actor=actor)
    hold.refresh_from_db()
    return hold


@transaction.atomic
def hold_cancel_line(*, hold_id: int, actor, reason: str) -> Hold:
    """Warehouse: cancel the short line; re-evaluation after commit clears its holds."""

    reason = require_reason(reason)
    hold = _inventory_line_hold(hold_id=hold_id, actor=actor)
    order_line_cancel(actor=actor, order_id=hold.order_id, line_id=hold.line_id, reason=reason)
    return hold


@transaction.atomic
def hold_substitute(*, hold_id: int, actor, sku: str, reason: str) -> Hold:
    """Warehouse: ship another SKU instead; re-evaluation after commit checks the substitute."""

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
    hold = lock_hold(hold_id=hold_id, actor=actor)
    if hold.category != "inventory" or hold.line_id is None:
        raise ApplicationError("Only an inventory hold on a line can be settled this way.")
    if hold.state not in ACTIVE_STATES:
        raise refusal(hold, "settl")
    return hold


FULFILMENT_REASONS = ("SHIPMENT_SHORT", "SHIPMENT_OVER")


def _fulfilment_hold(*, hold_id: int, actor, codes=FULFILMENT_REASONS) -> Hold:
    hold = lock_hold(hold_id=hold_id, actor=actor)
    if hold.reason.code not in codes:
        raise ApplicationError("This action settles a shipment mismatch only.")
    if hold.state not in ACTIVE_STATES:
        raise refusal(hold, "settl")
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
    claim_if_open(hold, actor, "investigate")
    check_assignee(hold, actor)
    notes = list(hold.context.get("investigation", []))
    notes.append({"by": who(actor), "at": timezone.now().isoformat(), "note": reason})
    hold.context = hold.context | {"investigation": notes}
    return save_hold(hold, actor, f"Investigating: {reason}")
