"""Decimal helpers: money is rounded half-up to cents, explicitly, and never touches float."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0")


def round_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def line_amount(quantity: Decimal, unit_price: Decimal | None) -> Decimal:
    """A line's extended amount in cents; a line with no price contributes nothing yet."""
    if unit_price is None:
        return ZERO.quantize(CENT)
    return round_money(quantity * unit_price)
