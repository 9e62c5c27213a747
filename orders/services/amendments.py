"""Upstream amendments: a newer version of an order (ERP) applied to the stored order in version
order (header, lines added, changed or cancelled, or the order cancelled), each change with
history naming the source and version; re-judged by the rules after commit."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError

from ..models import Order, OrderLine, OrderState, ShipTo
from ..selectors import items_by_sku
from ..signals import order_changed
from .access import lock_order, require_writer
from .pricing import LineInput, contract_prices, note_price_override, recalculate_totals
from .transitions import order_apply_transition

#: States in which an amendment still applies: before release, and released but not shipped
#: (the WMS is then told of the change).
AMENDABLE_STATES = {
    OrderState.RECEIVED,
    OrderState.ON_HOLD,
    OrderState.RELEASED,
    OrderState.ALLOCATED,
}
#: States in which the WMS already holds a release instruction.
RELEASED_STATES = {OrderState.RELEASED, OrderState.ALLOCATED}


class Outcome:
    APPLIED = "applied"  # the version is the order now (changes may be empty)
    STALE = "stale"  # an older (or the same) version: nothing changed
    CANCELLED = "cancelled"  # the version cancelled the order
    TOO_LATE = "too_late"  # the order has shipped: nothing changed, a person must look
    CLOSED = "closed"  # the order was cancelled in o2c: nothing to change


@dataclass
class Amendment:
    """What an amendment did to the order (``changes`` as a person reads them)."""

    order: Order
    outcome: str
    was: str  # the order's state before the amendment
    changes: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def after_release(self) -> bool:
        """The WMS holds a release instruction for the order as it was."""
        return self.was in RELEASED_STATES


def _line_price(line: LineInput, item, contract: dict) -> Decimal:
    if line.unit_price is not None:
        return line.unit_price
    return contract.get(item.pk, item.list_price)


def _pair_lines(open_lines: list[OrderLine], wanted: list[LineInput]):
    """Match the new version's lines to the open ones by SKU, in order: (kept pairs, open lines
    missing from the new version, new lines). A SKU changed on a line is a cancel and an add."""
    left = list(wanted)
    kept, missing = [], []
    for line in open_lines:
        match = next((w for w in left if w.sku == line.item.sku), None)
        if match is None:
            missing.append(line)
        else:
            left.remove(match)
            kept.append((line, match))
    return kept, missing, left


def _validate(order: Order, *, lines, ship_to_code, currency, customer_ref, cancelled):
    """Raise ApplicationError naming the field for a version that cannot apply."""
    if customer_ref and customer_ref != order.customer.external_id:
        raise ApplicationError(
            f"The amendment names customer “{customer_ref}”; order {order.number} belongs to "
            f"“{order.customer.external_id}”.",
            {"field": "customer"},
        )
    if currency and currency != order.currency:
        raise ApplicationError(
            f"The amendment is in {currency}; order {order.number} is in {order.currency}.",
            {"field": "currency"},
        )
    ship_to = None
    if ship_to_code and not cancelled:
        ship_to = ShipTo.objects.filter(customer_id=order.customer_id, code=ship_to_code).first()
        if ship_to is None:
            raise ApplicationError(
                f"unknown “{ship_to_code}” for customer {order.customer.number}",
                {"field": "ship_to"},
            )
    if cancelled:
        return ship_to, {}
    if not lines:
        raise ApplicationError("An order needs at least one line.", {"field": "lines"})
    items = items_by_sku([line.sku for line in lines])
    unknown = sorted({line.sku for line in lines} - items.keys())
    if unknown:
        raise ApplicationError(f"Unknown SKU: {', '.join(unknown)}", {"skus": unknown})
    for index, line in enumerate(lines, start=1):
        if line.quantity <= 0:
            raise ApplicationError(
                "Quantities must be greater than zero.", {"field": f"lines[{index}].quantity"}
            )
        if line.unit_price is not None and line.unit_price < 0:
            raise ApplicationError(
                "Prices cannot be negative.", {"field": f"lines[{index}].unit_price"}
            )
    return ship_to, items


def _money(value) -> str:
    return "—" if value is None else f"{value:,.2f}"


def _qty(value: Decimal) -> str:
    return f"{value.normalize():f}"


@transaction.atomic
def order_amend(
    *,
    actor,
    order_id: int,
    version: int,
    source: str,
    lines: list[LineInput],
    ship_to_code: str = "",
    requested_date: date | None = None,
    currency: str = "",
    customer_ref: str = "",
    cancelled: bool = False,
) -> Amendment:
    """Apply version ``version`` of the order from ``source`` (the whole order as the upstream
    now has it). Locks the order and re-checks it: an older or equal version changes nothing;
    a cancelled order takes nothing; a shipped one changes nothing and the result says what
    differs (the caller holds it for customer service); otherwise the header and lines become
    the version's, totals are recalculated, and the rules judge the order again after commit
    (a released one too). A version that fails validation raises ApplicationError naming the
    field, and nothing is changed."""
    require_writer(actor)
    order = lock_order(order_id=order_id, actor=actor)
    was = order.state
    if version <= order.source_version:
        relation = "older than" if version < order.source_version else "the same as"
        return Amendment(
            order,
            Outcome.STALE,
            was,
            note=f"version {version} is {relation} the applied {order.source_version}; "
            "nothing changed",
        )
    if order.state == OrderState.CANCELLED:
        return Amendment(
            order,
            Outcome.CLOSED,
            was,
            note=f"order {order.number} is cancelled; version {version} changed nothing",
        )
    ship_to, items = _validate(
        order,
        lines=lines,
        ship_to_code=ship_to_code,
        currency=currency,
        customer_ref=customer_ref,
        cancelled=cancelled,
    )
    why = f"Amended by {source} version {version}"
    all_lines = list(order.lines.select_related("item").order_by("line_number"))
    open_lines = [line for line in all_lines if not line.cancelled]
    if cancelled:
        changes = ["order cancelled"]
    else:
        changes = _differences(order, open_lines, lines, ship_to, requested_date, items)
    if order.state not in AMENDABLE_STATES:
        # shipped (in part or whole), invoiced or closed: the change can no longer apply
        return Amendment(
            order,
            Outcome.TOO_LATE,
            was,
            changes=changes,
            note=f"order {order.number} is {order.get_state_display().lower()}; "
            f"version {version} cannot apply: {'; '.join(changes) or 'no difference'}",
        )
    order.source_version = version
    order.last_edited_by = actor
    if cancelled:
        order_apply_transition(
            order, "cancel", actor=actor, reason=f"Cancelled by {source} version {version}"
        )
        return Amendment(order, Outcome.CANCELLED, was, changes=changes)
    if changes:
        _apply_lines(order, all_lines, open_lines, lines, items, actor=actor, why=why)
        if ship_to is not None:
            order.ship_to = ship_to
        if requested_date is not None:
            order.requested_date = requested_date
        recalculate_totals(order, list(order.lines.all()))
    order._history_user = actor
    order._change_reason = f"{why}: {'; '.join(changes)}" if changes else f"{why}: no change"
    order.save()
    if changes:
        # the rules judge the order again, a released one too (release decisions apply)
        transaction.on_commit(
            lambda: order_changed.send_robust(sender=Order, order_id=order.pk, amended=True)
        )
    return Amendment(order, Outcome.APPLIED, was, changes=changes)


def _differences(order, open_lines, wanted, ship_to, requested_date, items) -> list[str]:
    """What the version changes, as a person reads it (nothing is written here)."""
    changes = []
    if ship_to is not None and ship_to.pk != order.ship_to_id:
        changes.append(f"ship-to {order.ship_to.code if order.ship_to else '—'} → {ship_to.code}")
    if requested_date is not None and requested_date != order.requested_date:
        changes.append(f"requested date {order.requested_date or '—'} → {requested_date}")
    contract = contract_prices(
        order.customer, [item.pk for item in items.values()], timezone.now().date()
    )
    kept, missing, added = _pair_lines(open_lines, wanted)
    for line, new in kept:
        price = _line_price(new, items[new.sku], contract)
        if new.quantity != line.ordered_qty:
            changes.append(
                f"line {line.line_number} ({line.item.sku}) quantity "
                f"{_qty(line.ordered_qty)} → {_qty(new.quantity)}"
            )
        if line.unit_price is None or price != line.unit_price:
            changes.append(
                f"line {line.line_number} ({line.item.sku}) price "
                f"{_money(line.unit_price)} → {_money(price)}"
            )
    for line in missing:
        changes.append(f"line {line.line_number} ({line.item.sku}) cancelled")
    for new in added:
        changes.append(f"line added: {_qty(new.quantity)} × {new.sku}")
    return changes


def _apply_lines(order, all_lines, open_lines, wanted, items, *, actor, why) -> None:
    """Write the version's lines: changed ones saved, missing ones cancelled (kept for the
    record), new ones added after the last line number; each with its history row."""
    contract = contract_prices(
        order.customer, [item.pk for item in items.values()], timezone.now().date()
    )
    kept, missing, added = _pair_lines(open_lines, wanted)
    # an allocated order's warehouse is told of the version and allocates what it now asks:
    # a shipment is checked against that, not against the quantity before the amendment
    allocated = order.state == OrderState.ALLOCATED
    for line, new in kept:
        price = _line_price(new, items[new.sku], contract)
        if new.quantity == line.ordered_qty and price == line.unit_price:
            continue
        line.ordered_qty, line.unit_price = new.quantity, price
        if allocated:
            line.allocated_qty = new.quantity
        note_price_override(line, actor)
        line._history_user, line._change_reason = actor, why
        line.save()
    for line in missing:
        line.cancelled = True
        line._history_user, line._change_reason = actor, why
        line.save()
    number = max((line.line_number for line in all_lines), default=0)
    for new in added:
        number += 1
        item = items[new.sku]
        line = OrderLine(
            order=order,
            line_number=number,
            item=item,
            ordered_qty=new.quantity,
            unit_price=_line_price(new, item, contract),
            contract_price=contract.get(item.pk),
            allocated_qty=new.quantity if allocated else Decimal("0"),
        )
        note_price_override(line, actor)
        line._history_user, line._change_reason = actor, why
        line.save()
