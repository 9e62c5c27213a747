"""What every order write shares: the line input, the writer check, the order locked through the
actor's rows, contract prices, totals, and who set a price off contract."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q

from core.errors import ApplicationError, PermissionDenied
from core.money import ZERO, line_amount
from core.roles import Role, has_role, is_system_user

from ..models import Customer, Order, OrderLine, OrderState, PriceAgreement
from ..selectors import orders_for_user

#: States in which the order's lines may still be edited by customer service.
EDITABLE_STATES = {OrderState.RECEIVED, OrderState.ON_HOLD}


@dataclass(frozen=True)
class LineInput:
    sku: str
    quantity: Decimal
    unit_price: Decimal | None = None


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
