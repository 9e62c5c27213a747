"""A hold that blocks shipping stops shipping: the WMS is not told to ship an order while such a
hold is open, and is told (once) when it closes; a confirmation that arrives anyway is recorded
as the fact it is and raises a fulfilment hold naming the open hold, never a retry without end.
Against the sandbox WMS over HTTP."""

from decimal import Decimal

import pytest

from billing.models import InvoiceLine
from exceptions.models import ACTIVE_STATES, Hold, HoldState
from exceptions.services import hold_approve, hold_release
from integrations.models import InboundMessage, InboundState, OutboundMessage
from integrations.services import outbox_relay
from orders.models import Order, OrderState
from tests.integrations.test_sandbox_sync import sync

pytestmark = pytest.mark.django_db


def _import_with_a_stock_variance(erp, wms, sandbox, capture) -> list[Order]:
    """The reproduction: the ERP's on-hand of one item is ten times the WMS's, so its orders get
    STOCK_VARIANCE (blocks ship, not release) and are released."""
    sync(erp, ["customers", "items", "prices", "ar"], capture)
    skus = {
        line["sku"]
        for index in range(sandbox.state.orders)
        for line in sandbox.state.catalog.order(index)["lines"]
    }
    for row in sandbox.state.catalog.inventory:
        if row["sku"] in skus:
            row["erp_on_hand"] = str(Decimal(row["wms_on_hand"]) * 10)
            break
    sync(wms, ["inventory"], capture)
    sync(erp, ["orders"], capture)
    held = list(
        Order.objects.filter(
            state=OrderState.RELEASED,
            holds__reason__code="STOCK_VARIANCE",
            holds__state__in=ACTIVE_STATES,
        ).distinct()
    )
    assert held, "the sandbox feed has released orders of the varying item"
    return held


def test_an_order_is_not_shipped_until_its_stock_variance_hold_clears(
    erp, wms, sandbox, warehouse_user, manager_user, django_capture_on_commit_callbacks
):
    # given released orders with an open STOCK_VARIANCE hold, and others without
    wms.enabled = True
    wms.save()
    held = _import_with_a_stock_variance(erp, wms, sandbox, django_capture_on_commit_callbacks)
    free = Order.objects.filter(state=OrderState.RELEASED).exclude(pk__in=[o.pk for o in held])
    # when the outbox is relayed and the warehouse's shipments are pulled
    outbox_relay()
    sync(wms, ["shipments"], django_capture_on_commit_callbacks)
    # then the WMS heard only of the orders free to ship; the held ones stay released, unshipped
    told = {release["order"] for release in sandbox.state.releases.values()}
    assert told and not told & {order.number for order in held}
    assert {o.number for o in free} <= told | set(
        Order.objects.exclude(state=OrderState.RELEASED).values_list("number", flat=True)
    )
    assert not OutboundMessage.objects.filter(key__in=[f"release:{o.number}" for o in held])
    order = held[0]
    order.refresh_from_db()
    assert order.state == OrderState.RELEASED and not order.shipments.exists()

    # when the warehouse releases the hold (a second approver where the amount calls for one)
    with django_capture_on_commit_callbacks(execute=True):
        for hold in order.holds.filter(reason__code="STOCK_VARIANCE", state__in=ACTIVE_STATES):
            hold = hold_release(hold_id=hold.pk, actor=warehouse_user, reason="Counted: WMS right")
            if hold.state == HoldState.AWAITING_SECOND_APPROVAL:
                hold_approve(hold_id=hold.pk, actor=manager_user, reason="Agreed")
    # then the WMS is told once, ships it, and the order is shipped
    assert OutboundMessage.objects.filter(key=f"release:{order.number}").count() == 1
    outbox_relay()
    assert f"release:{order.number}" in sandbox.state.releases
    sync(wms, ["shipments"], django_capture_on_commit_callbacks)
    order.refresh_from_db()
    assert order.state != OrderState.RELEASED and order.shipments.count() == 1


def test_a_confirmation_that_arrives_anyway_is_recorded_and_held_not_retried(
    erp, wms, sandbox, django_capture_on_commit_callbacks
):
    # given a released order with an open STOCK_VARIANCE hold, which the WMS ships anyway
    held = _import_with_a_stock_variance(erp, wms, sandbox, django_capture_on_commit_callbacks)
    order = held[0]
    key = f"release:{order.number}"
    sandbox.state.releases[key] = {
        "key": key,
        "order": order.number,
        "lines": [
            {"line": line.line_number, "sku": line.item.sku, "quantity": str(line.ordered_qty)}
            for line in order.lines.select_related("item")
        ],
    }
    # when its ship confirmation is pulled
    sync(wms, ["shipments"], django_capture_on_commit_callbacks)
    # then the shipment is recorded and the message done with, in one attempt
    order.refresh_from_db()
    assert order.state == OrderState.SHIPPED and order.shipments.count() == 1
    message = InboundMessage.objects.get(stream="shipments", payload__order=order.number)
    assert (message.state, message.attempts) == (InboundState.PROCESSED, 1)
    # and the warehouse queue has a hold naming the hold that was open, which stops invoicing
    shipped = Hold.objects.get(order=order, reason__code="SHIPPED_WHILE_HELD")
    assert shipped.queue == "warehouse" and shipped.blocks == "invoice"
    assert any("ERP and WMS on-hand disagree" in text for text in shipped.context["open_holds"])
    assert not InvoiceLine.objects.filter(order_line__order=order).exists()
