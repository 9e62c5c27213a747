"""A shipment that differs from what was released: a fulfilment hold in the warehouse queue, and
the warehouse's three answers (backorder, close the line, investigate)."""

from decimal import Decimal

import pytest

from billing.models import Invoice
from exceptions.models import Hold, HoldState
from exceptions.selectors import HoldFilters, holds_for_queue
from exceptions.services import hold_accept_backorder, hold_close_short, hold_investigate
from orders.models import OrderState

pytestmark = pytest.mark.django_db


def test_short_shipment_raises_a_warehouse_hold_and_invoices_only_what_shipped(
    released_order, ship, warehouse_user
):
    order = released_order(lines=[("A", "10"), ("B", "2")])

    ship(order, {1: "7", 2: "2"})

    hold = Hold.objects.get(reason__code="SHIPMENT_SHORT")
    assert (hold.queue, hold.category, hold.line.line_number) == ("warehouse", "fulfilment", 1)
    assert hold.context | {"shipment": "-"} == {
        "shipment": "-",
        "sku": "BILL-A",
        "ordered": "10.000",
        "released": "10.000",
        "shipped_before": "0.000",
        "shipped_now": "7",
        "short": "3.000",
    }
    assert hold.value_at_risk == Decimal("37.50")
    page = holds_for_queue(
        user=warehouse_user, queue="warehouse", filters=HoldFilters(), cursor=None, size=50
    )
    assert hold in page.rows
    line = Invoice.objects.get().lines.get(order_line__line_number=1)
    assert line.quantity == Decimal("7")  # never the ordered 10


def test_accepting_the_short_and_backordering_keeps_the_line_open(
    released_order, ship, warehouse_user
):
    order = released_order(lines=[("A", "10")])
    ship(order, {1: "7"})
    hold = Hold.objects.get(reason__code="SHIPMENT_SHORT")

    hold_accept_backorder(hold_id=hold.pk, actor=warehouse_user, reason="Rest next week")

    hold.refresh_from_db()
    assert (hold.state, hold.resolution_code) == (HoldState.RELEASED, "BACKORDER")
    order.refresh_from_db()
    assert order.state == OrderState.PARTIALLY_SHIPPED
    # the backorder ships later, exactly the rest: no new mismatch
    ship(order, {1: "3"})
    order.refresh_from_db()
    assert order.lines.get().shipped_qty == Decimal("10")
    # shipped in full; the backorder's own invoice went out (the first waits for finance)
    assert order.state == OrderState.PARTIALLY_INVOICED
    assert Hold.objects.filter(reason__code="SHIPMENT_SHORT").count() == 1


def test_accepting_the_short_and_closing_the_line_finishes_the_order(
    released_order, ship, warehouse_user, finance_user, django_capture_on_commit_callbacks
):
    from billing.services import invoice_approve

    order = released_order(lines=[("A", "10")])
    ship(order, {1: "7"})
    invoice_approve(invoice_id=Invoice.objects.get().pk, actor=finance_user, reason="first")
    order.refresh_from_db()
    assert order.state == OrderState.PARTIALLY_INVOICED
    hold = Hold.objects.get(reason__code="SHIPMENT_SHORT")

    hold_close_short(hold_id=hold.pk, actor=warehouse_user, reason="Discontinued, no more")

    order.refresh_from_db()
    line = order.lines.get()
    assert line.short_closed and line.due_qty == Decimal("7")
    # all that will ship has shipped and been invoiced: the order is done
    assert order.state == OrderState.INVOICED
    assert order.history.first().history_change_reason == "Discontinued, no more"


def test_investigating_keeps_the_hold_open_with_a_note(released_order, ship, warehouse_user):
    order = released_order(lines=[("A", "10")])
    ship(order, {1: "12"})
    hold = Hold.objects.get(reason__code="SHIPMENT_OVER")
    assert hold.context["over"] == "2.000"

    hold_investigate(hold_id=hold.pk, actor=warehouse_user, reason="Counting the dock")

    hold.refresh_from_db()
    assert hold.state == HoldState.CLAIMED and hold.assignee == warehouse_user
    assert [n["note"] for n in hold.context["investigation"]] == ["Counting the dock"]
    with pytest.raises(Exception, match="settles a shipment mismatch only|short"):
        hold_close_short(hold_id=hold.pk, actor=warehouse_user, reason="not for over")


@pytest.mark.parametrize("amended", ["15", "6"])
def test_an_allocated_order_amended_ships_its_new_quantity_with_no_mismatch(
    released_order, ship, warehouse_user, django_capture_on_commit_callbacks, amended
):
    from core.roles import get_system_user
    from orders.services import order_amend, order_transition
    from orders.services.pricing import LineInput

    # given an order of 10 the warehouse has allocated
    order = released_order(lines=[("A", "10")])
    with django_capture_on_commit_callbacks(execute=True):
        order_transition(
            actor=warehouse_user, order_id=order.pk, transition="allocate", reason="Picked"
        )
    line = order.lines.get()
    # when the ERP amends the line, up or down, and the warehouse ships the new quantity
    with django_capture_on_commit_callbacks(execute=True):
        order_amend(
            actor=get_system_user(),
            order_id=order.pk,
            version=2,
            source="sandbox-erp",
            lines=[LineInput(sku=line.item.sku, quantity=Decimal(amended))],
        )
    order.refresh_from_db()
    assert order.state == OrderState.ALLOCATED
    assert order.lines.get().allocated_qty == Decimal(amended)
    ship(order, {1: amended})
    # then it shipped in full: no short or over hold, and the invoice bills what shipped
    assert not Hold.objects.filter(reason__code__in=["SHIPMENT_SHORT", "SHIPMENT_OVER"]).exists()
    order.refresh_from_db()
    assert order.state in (OrderState.SHIPPED, OrderState.INVOICED)
    assert Invoice.objects.get().lines.get().quantity == Decimal(amended)
