"""An order's lines priced and totalled: the line input, contract prices in force, totals within
what an order can hold, and who set a price off contract."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q

from core.errors import ApplicationError
from core.money import ZERO, line_amount
from core.roles import is_system_user

from ..models import Customer, Order, OrderLine, PriceAgreement


@dataclass(frozen=True)
class LineInput:
    sku: str
    quantity: Decimal
    unit_price: Decimal | None = None


def contract_prices(customer: Customer, item_ids: list[int], on: date) -> dict[int, Decimal]:
    agreements = (
        PriceAgreement.objects.filter(customer=customer, item_id__in=item_ids, valid_from__lte=on)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))
        .order_by("item_id", "-valid_from")
    )
    prices: dict[int, Decimal] = {}
    for agreement in agreements:
        prices.setdefault(agreement.item_id, agreement.contract_price)
    return prices


#: Integer digits of the order's money columns (max_digits 14, decimal_places 2).
ORDER_TOTAL_DIGITS = 12


def recalculate_totals(order: Order, lines: list[OrderLine]) -> None:
    active = (line for line in lines if not line.cancelled)
    order.subtotal = sum((line_amount(line.ordered_qty, line.unit_price) for line in active), ZERO)
    order.total = order.subtotal + order.tax_total
    if order.total.adjusted() >= ORDER_TOTAL_DIGITS:
        # refused here, with the reason, rather than as the database's numeric overflow
        raise ApplicationError(
            f"The order's value ({order.total:,.2f}) is beyond what an order can hold.",
            {"field": "lines"},
        )


def note_price_override(line: OrderLine, actor) -> None:
    """Remember who set a price other than the contract (or list) price; finance's maker-checker
    keeps that person from approving the invoice."""
    overridden = line.unit_price is not None and line.unit_price != line.default_price
    line.price_overridden_by = actor if overridden and not is_system_user(actor) else None
