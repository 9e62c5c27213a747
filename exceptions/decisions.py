"""Release decisions: what a person's release of a hold decided, and how long it stays valid.

A release records the order as it then was (total, lines, ship-to, customer) beside the numbers
the hold was raised for. The decision stands while the order does not change materially (what
counts as material is governed per segment in HoldPolicy). After a material change the rules
judge the order again: a finding beyond what the decision covered raises a new hold that names
the decision; anything else keeps it, and the hold's history says so.

Pure functions over plain values: no ORM, no clock, like the rules.
"""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Materiality:
    """What makes a change material (HoldPolicy's material_* fields, resolved per segment)."""

    increase_fraction: Decimal = Decimal("0.10")
    increase_amount: Decimal = Decimal("1000.00")
    new_line: bool = True
    price_lowered: bool = True
    ship_to_change: bool = True
    customer_change: bool = True


def order_state_of(*, total, ship_to_id, customer_id, lines) -> dict:
    """The order as a decision sees it, JSON-ready: ``lines`` are (line id, quantity, price) of
    the lines not cancelled."""
    return {
        "total": str(total),
        "ship_to": ship_to_id,
        "customer": customer_id,
        "lines": {
            str(line_id): [str(quantity), None if price is None else str(price)]
            for line_id, quantity, price in lines
        },
    }


def material_changes(before: dict, after: dict, rules: Materiality) -> list[str]:
    """Why the change from ``before`` to ``after`` (``order_state_of``) is material; empty when
    it is not (a decrease, or a rise within both tolerances, never is)."""
    found = []
    was, now = Decimal(before["total"]), Decimal(after["total"])
    rise = now - was
    # both tolerances must be passed: a small rise of a large order (fraction) and a large
    # rise of a small order (amount) are not material; a zero switches its test off
    if rise > was * rules.increase_fraction and rise > rules.increase_amount:
        found.append(f"total up from {was:,.2f} to {now:,.2f}")
    added = after["lines"].keys() - before["lines"].keys()
    if rules.new_line and added:
        found.append(f"{len(added)} line(s) added")
    if rules.price_lowered:
        for line_id, (_qty, price) in after["lines"].items():
            was_price = (before["lines"].get(line_id) or [None, None])[1]
            if price is not None and was_price is not None and Decimal(price) < Decimal(was_price):
                found.append(
                    f"a price lowered from {Decimal(was_price):,.2f} to {Decimal(price):,.2f}"
                )
    if rules.ship_to_change and after["ship_to"] != before["ship_to"]:
        found.append("ship-to changed")
    if rules.customer_change and after["customer"] != before["customer"]:
        found.append("customer changed")
    return found


#: The number a person reads first in each kind of finding's context.
HEADLINES = (
    ("exposure", "exposure"),
    ("unit_price", "price"),
    ("requested", "quantity"),
    ("quantity", "quantity"),
)


def headline(context: dict) -> tuple[str, str] | None:
    """(label, figure) of the context's leading number, e.g. ("exposure", "78,000.00")."""
    for key, label in HEADLINES:
        value = context.get(key)
        if value not in (None, ""):
            return label, f"{Decimal(value):,.2f}"
    return None


def reraise_note(decision: dict, context: dict, changes: list[str]) -> str:
    """The new hold's story, both sets of numbers: "Released by Carla at 10:42 for exposure
    78,000.00; the order now brings exposure to 781,000.00 (total up from ...)"."""
    then, now = headline(decision.get("numbers", {})), headline(context)
    said = f"Released by {decision.get('by', 'someone')} at {decision.get('at_local', decision.get('at', '?'))}"
    if then and now:
        said += f" for {then[0]} {then[1]}; the order now brings {now[0]} to {now[1]}"
    return said + (f" ({'; '.join(changes)})" if changes else "")


def beyond_decision(decided_amount: Decimal, found_amount: Decimal) -> bool:
    """A finding goes beyond a decision when what needs approving (a credit overage, or the value
    at risk) is larger than what the person released."""
    return found_amount > decided_amount


def compared(decision: dict, context: dict) -> list[tuple[str, str, str]]:
    """(figure, when released, now) for each number both snapshots carry, for a person to read
    the earlier decision beside today's finding."""
    then = decision.get("numbers", {})
    return [
        (key.replace("_", " "), str(then[key]), str(context[key]))
        for key in context
        if key in then and key != "earlier_decision" and not isinstance(context[key], dict | list)
    ]
