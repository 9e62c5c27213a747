"""A shipment and its invoice cost the same queries whatever the number of lines, and the bulk
writes behind that keep every line's story: who changed it, when and why, as a save would."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import Invoice
from core.roles import get_system_user
from orders.models import OrderLine, OrderState

pytestmark = pytest.mark.django_db


def _shipped_and_invoiced(ship, order, quantities) -> int:
    with CaptureQueriesContext(connection) as queries:
        shipment = ship(order, quantities)
    assert order.state in (OrderState.SHIPPED, OrderState.INVOICED)
    invoice = Invoice.objects.filter(lines__shipment_line__shipment=shipment).distinct().get()
    assert sorted(invoice.lines.values_list("quantity", flat=True)) == sorted(
        Decimal(q) for q in quantities.values()
    )
    return len(queries)


def test_a_shipment_and_its_invoice_cost_the_same_queries_whatever_their_lines(
    released_order, ship
):
    warm = released_order(lines=[("A", "1")])
    _shipped_and_invoiced(ship, warm, {1: "1"})  # first use: policies, tax rates, content types
    one = released_order(lines=[("A", "2")])
    three = released_order(lines=[("A", "2"), ("B", "3"), ("C", "4")])

    assert _shipped_and_invoiced(ship, three, {1: "2", 2: "3", 3: "4"}) == _shipped_and_invoiced(
        ship, one, {1: "2"}
    )


def test_every_shipped_line_keeps_its_allocation_and_shipment_in_its_history(released_order, ship):
    order = released_order(lines=[("A", "2"), ("B", "3")])

    shipment = ship(order, {1: "2", 2: "1"})

    system = get_system_user()
    for line in order.lines.all():
        story = list(
            OrderLine.history.filter(id=line.pk)
            .order_by("history_id")
            .values_list("allocated_qty", "shipped_qty", "history_user", "history_change_reason")
        )
        assert story[1:3] == [
            (line.ordered_qty, Decimal("0"), system.pk, "Allocated by the WMS (DC-EAST)"),
            (
                line.ordered_qty,
                line.shipped_qty,
                system.pk,
                f"Shipped {shipment.external_id} via UPS 1Z999",
            ),
        ]
    assert [line.shipped_qty for line in order.lines.order_by("line_number")] == [2, 1]
    assert (
        list(
            shipment.lines.model.history.filter(shipment_id=shipment.pk).values_list(
                "history_type", "history_user", "history_change_reason"
            )
        )
        == [("+", system.pk, f"Shipped {shipment.external_id} via UPS 1Z999")] * 2
    )


def test_a_connector_shipment_and_its_invoice_look_up_the_system_user_once(released_order, ship):
    """The connectors' identity is passed along to the invoice, and it is not territory-bound:
    no user or territory lookups repeated on every shipment."""
    warm = released_order(lines=[("A", "1")])
    ship(warm, {1: "1"})  # the customer's first invoice waits for approval; the next is released
    order = released_order(lines=[("A", "2")], customer=warm.customer)

    with CaptureQueriesContext(connection) as queries:
        ship(order, {1: "2"})

    assert order.state == OrderState.INVOICED
    sqls = [query["sql"] for query in queries]
    assert sum('FROM "auth_user"' in sql for sql in sqls) == 1  # the shipping fixture's own
    assert not [sql for sql in sqls if '"orders_territoryassignment"' in sql]
