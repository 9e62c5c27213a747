"""Gather the facts the hold rules need for one order, in a fixed number of queries (a batch of
imported orders reads them set-wise in ``exceptions.intake`` and assembles them here alike)."""

from collections import defaultdict
from decimal import Decimal
from statistics import median

from django.db.models import Sum

from core.money import CENT, ZERO
from orders.models import EXPOSED_STATES, ARBalance, InventoryPosition, Order, OrderLine, OrderState

from .rules import CustomerFacts, LineFacts, OrderFacts


def stock_of(item_ids) -> dict:
    """Stock per item across warehouses: available (WMS on hand − allocated), ERP and WMS."""
    stock = defaultdict(lambda: {"available": ZERO, "erp": ZERO, "wms": ZERO})
    for row in (
        InventoryPosition.objects.filter(item_id__any=item_ids)
        .values("item_id")
        .annotate(wms=Sum("wms_on_hand"), erp=Sum("erp_on_hand"), allocated=Sum("allocated"))
    ):
        stock[row["item_id"]] = {
            "available": row["wms"] - row["allocated"],
            "erp": row["erp"],
            "wms": row["wms"],
        }
    return stock


def order_facts(order: Order, *, history_orders: int) -> OrderFacts:
    customer = order.customer
    ar = ARBalance.objects.filter(customer=customer).first()
    released_uninvoiced = (
        Order.objects.filter(customer=customer, state__in=EXPOSED_STATES)
        .exclude(pk=order.pk)
        .aggregate(total=Sum("total"))["total"]
        or ZERO
    ).quantize(CENT)  # SQLite sums decimals loosely; money stays in cents
    lines = list(order.lines.filter(cancelled=False).select_related("item").order_by("line_number"))
    item_ids = {line.item_id for line in lines}

    stock = stock_of(item_ids)

    # The customer's last N orders before this one, and their quantities of these items.
    recent = list(
        Order.objects.filter(customer=customer, received_at__lt=order.received_at)
        .exclude(state=OrderState.CANCELLED)
        .order_by("-received_at")
        .values_list("id", flat=True)[:history_orders]
    )
    quantities = defaultdict(list)
    for item_id, quantity in OrderLine.objects.filter(
        order_id__in=recent, item_id__in=item_ids
    ).values_list("item_id", "ordered_qty"):
        quantities[item_id].append(quantity)

    return assemble_facts(
        order,
        lines,
        ar=ar,
        released_uninvoiced=released_uninvoiced,
        stock=stock,
        quantities=quantities,
    )


def assemble_facts(order, lines, *, ar, released_uninvoiced, stock, quantities) -> OrderFacts:
    """The rules' view of one order from figures already read (by one order or by a batch)."""
    customer = order.customer
    return OrderFacts(
        order_total=order.total,
        has_ship_to=order.ship_to_id is not None,
        customer=CustomerFacts(
            credit_limit=customer.credit_limit,
            credit_status=customer.credit_status,
            open_ar=ar.open_amount if ar else ZERO,
            oldest_past_due_days=ar.oldest_past_due_days if ar else 0,
            released_uninvoiced=released_uninvoiced,
            payment_terms=customer.payment_terms,
            tax_region=customer.tax_region,
        ),
        lines=tuple(_line_facts(line, stock, quantities) for line in lines),
    )


def _line_facts(line, stock, quantities) -> LineFacts:
    # each related value read once: a batch assembles this for thousands of lines
    item, item_id = line.item, line.item_id
    on_hand, history = stock[item_id], quantities[item_id]
    return LineFacts(
        line_id=line.pk,
        sku=item.sku,
        quantity=line.ordered_qty,
        unit_price=line.unit_price,
        contract_price=line.contract_price,
        list_price=item.list_price,
        unit_cost=item.unit_cost,
        available=on_hand["available"],
        erp_on_hand=on_hand["erp"],
        wms_on_hand=on_hand["wms"],
        median_quantity=Decimal(median(history)) if history else None,
    )
