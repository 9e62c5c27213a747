"""Upstream amendments against the sandbox ERP and WMS over HTTP: a newer version of an order is
applied in version order (an older one changes nothing and the inbox says why), re-judged under
release decisions, told to the WMS exactly once after release; a bad one is a dead letter naming
the field and one for an unknown order waits."""

from decimal import Decimal

import pytest

from exceptions.models import ACTIVE_STATES, Hold
from exceptions.services import hold_release
from integrations.models import InboundMessage, InboundState, OutboundMessage
from integrations.services import outbox_relay
from orders.models import Order, OrderState
from orders.services import order_transition
from tests.integrations.test_sandbox_sync import sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def feed(erp, wms, sandbox, django_capture_on_commit_callbacks):
    """Master data and stock from the sandbox, no orders of its own: each test inserts its order
    (customer SBC0001, one item with ample stock) and amends it."""
    state = sandbox.state
    state.orders = 0
    state.ship_after_seconds = 3600  # the warehouse has not shipped yet
    customer = state.catalog.customers[0]
    customer["segment"], customer["credit_limit"] = "standard", "20000.00"
    item = max(state.catalog.items, key=lambda i: Decimal(i["list_price"]))
    for row in state.catalog.inventory:
        if row["sku"] == item["sku"]:
            row["erp_on_hand"] = row["wms_on_hand"] = "100000"
    sync(erp, ["customers", "items", "prices", "ar"], django_capture_on_commit_callbacks)
    sync(wms, ["inventory"], django_capture_on_commit_callbacks)
    ar = next(a for a in state.catalog.ar if a["customer"] == customer["id"])
    return {"customer": customer, "item": item, "open_ar": Decimal(ar["open_amount"])}


def _order(feed, number: str, quantity: int) -> dict:
    return {
        "id": number,
        "version": 1,
        "number": number,
        "channel": "edi",
        "customer": feed["customer"]["id"],
        "ship_to": "MAIN",
        "requested_date": "2026-12-15",
        "currency": "USD",
        "lines": [
            {
                "line": 1,
                "sku": feed["item"]["sku"],
                "quantity": str(quantity),
                "unit_price": feed["item"]["list_price"],
            }
        ],
    }


def _version(record: dict, version: int, **changes) -> dict:
    return {**record, "version": version, **changes}


def _pull(erp, sandbox, capture, *records):
    """The ERP serves these records (new, or a newer version of one it served); o2c pulls."""
    for record in records:
        inserted = sandbox.state.inserted.setdefault("orders", [])
        if any(r["id"] == record["id"] for _, r in inserted):
            sandbox.state.amendments[record["id"]] = record
        else:
            inserted.append((0, record))
    sync(erp, ["orders"], capture)


def _quantity_over_limit(feed) -> int:
    """A quantity whose order exceeds the customer's allowance (limit + 5 %) by a few hundred."""
    allowed = Decimal("21000") - feed["open_ar"]
    return int(allowed / Decimal(feed["item"]["list_price"])) + 2


@pytest.fixture
def released_override(feed, erp, sandbox, credit_user, django_capture_on_commit_callbacks):
    """An order over its credit limit whose hold a credit analyst released: the order released
    and told to the WMS."""
    record = _order(feed, "SBO900001", _quantity_over_limit(feed))
    _pull(erp, sandbox, django_capture_on_commit_callbacks, record)
    order = Order.objects.get(external_id="SBO900001")
    hold = order.holds.get(reason__code="CREDIT_LIMIT")
    with django_capture_on_commit_callbacks(execute=True):
        hold_release(hold_id=hold.pk, actor=credit_user, reason="Customer prepaid half")
    order.refresh_from_db()
    assert order.state == OrderState.RELEASED
    outbox_relay()
    assert f"release:{order.number}" in sandbox.state.releases
    return record, order


def test_a_released_credit_override_re_holds_after_a_ten_times_amendment(
    released_override, erp, sandbox, django_capture_on_commit_callbacks
):
    # given a released credit override
    record, order = released_override
    line = record["lines"][0]
    # when the ERP multiplies the quantity by ten in version 2
    ten_times = _version(record, 2, lines=[{**line, "quantity": str(int(line["quantity"]) * 10)}])
    _pull(erp, sandbox, django_capture_on_commit_callbacks, ten_times)
    # then the order is amended, back on hold with a new credit hold naming the decision
    order.refresh_from_db()
    assert order.source_version == 2 and order.state == OrderState.ON_HOLD
    new = order.holds.get(reason__code="CREDIT_LIMIT", state__in=ACTIVE_STATES)
    assert new.context["earlier_decision"]["by"] == "credit"
    story = Hold.history.filter(id=new.pk).earliest("history_date").history_change_reason
    assert "Released by credit" in story and "total up from" in story
    # and the line's history names the source and version
    assert order.lines.get().history.latest().history_change_reason == (
        "Amended by sandbox-erp version 2"
    )
    # and the WMS is told the change, then not to ship, each exactly once
    outbox_relay()
    assert list(sandbox.state.changes) == [f"change:{order.number}:2"]
    assert list(sandbox.state.cancellations) == [f"cancel:{order.number}:1"]
    assert f"release:{order.number}" not in sandbox.state.releases


def test_a_released_credit_override_stays_released_after_a_ten_percent_cut(
    released_override, erp, sandbox, django_capture_on_commit_callbacks
):
    # given a released credit override
    record, order = released_override
    line = record["lines"][0]
    # when the ERP cuts the quantity by about 10 %
    cut = int(int(line["quantity"]) * 0.9)
    _pull(
        erp,
        sandbox,
        django_capture_on_commit_callbacks,
        _version(record, 2, lines=[{**line, "quantity": str(cut)}]),
    )
    # then the order is amended and stays released; the decision stands
    order.refresh_from_db()
    assert order.source_version == 2 and order.state == OrderState.RELEASED
    assert order.lines.get().ordered_qty == cut
    assert order.holds.filter(reason__code="CREDIT_LIMIT").count() == 1
    # and the WMS gets the change exactly once, even when relayed and pulled again
    outbox_relay()
    sync(erp, ["orders"], django_capture_on_commit_callbacks)
    outbox_relay()
    assert OutboundMessage.objects.filter(topic="order_change").count() == 1
    assert list(sandbox.state.changes) == [f"change:{order.number}:2"]
    release = sandbox.state.releases[f"release:{order.number}"]
    assert Decimal(release["lines"][0]["quantity"]) == cut


def test_an_older_version_arriving_after_a_newer_one_changes_nothing(
    feed, erp, sandbox, django_capture_on_commit_callbacks
):
    # given an order applied at version 3
    record = _order(feed, "SBO900002", 5)
    line = record["lines"][0]
    _pull(erp, sandbox, django_capture_on_commit_callbacks, _version(record, 3))
    # (first seen at version 3: it waits for the earlier ones, then is stored as it stands)
    message = InboundMessage.objects.get(external_id="SBO900002", version=3)
    order = Order.objects.filter(external_id="SBO900002").first()
    if order is None:
        assert message.last_error.startswith("parked: ")
        InboundMessage.objects.filter(pk=message.pk).update(parked_since="2026-01-01T00:00Z")
        sync(erp, ["orders"], django_capture_on_commit_callbacks)
        order = Order.objects.get(external_id="SBO900002")
    assert order.source_version == 3
    before = (order.total, order.lines.get().ordered_qty, Order.history.filter(id=order.pk).count())
    # when version 2 arrives late
    _pull(
        erp,
        sandbox,
        django_capture_on_commit_callbacks,
        _version(record, 2, lines=[{**line, "quantity": "50"}]),
    )
    # then nothing changed, and the inbox says why
    order.refresh_from_db()
    after = (order.total, order.lines.get().ordered_qty, Order.history.filter(id=order.pk).count())
    assert after == before and order.source_version == 3
    late = InboundMessage.objects.get(external_id="SBO900002", version=2)
    assert late.state == InboundState.PROCESSED
    assert late.last_error == "version 2 is older than the applied 3; nothing changed"


def test_an_invalid_amendment_is_a_dead_letter_naming_the_field_and_changes_nothing(
    feed, erp, sandbox, django_capture_on_commit_callbacks
):
    # given a stored order
    record = _order(feed, "SBO900003", 5)
    _pull(erp, sandbox, django_capture_on_commit_callbacks, record)
    order = Order.objects.get(external_id="SBO900003")
    before = (
        order.total,
        order.ship_to_id,
        list(order.lines.values_list("ordered_qty", "item__sku", "cancelled")),
    )
    # when version 2 names a ship-to the customer does not have, and a line for an unknown SKU
    bad = _version(
        record,
        2,
        ship_to="NOWHERE",
        lines=[*record["lines"], {"line": 2, "sku": "SB-9999", "quantity": "1"}],
    )
    _pull(erp, sandbox, django_capture_on_commit_callbacks, bad)
    # then it is a dead letter naming the field, and the order is exactly as it was
    message = InboundMessage.objects.get(external_id="SBO900003", version=2)
    assert message.state == InboundState.DEAD
    assert message.last_error.startswith("ship_to: unknown “NOWHERE”")
    order.refresh_from_db()
    assert order.source_version == 1
    after = (
        order.total,
        order.ship_to_id,
        list(order.lines.values_list("ordered_qty", "item__sku", "cancelled")),
    )
    assert after == before


def test_an_amendment_for_an_unknown_order_waits(
    feed, erp, sandbox, django_capture_on_commit_callbacks
):
    # given no order SBO900004 in o2c  # when its version 2 arrives first
    record = _order(feed, "SBO900004", 5)
    _pull(erp, sandbox, django_capture_on_commit_callbacks, _version(record, 2))
    # then it waits (parked, never dropped), and no order is made of it yet
    message = InboundMessage.objects.get(external_id="SBO900004", version=2)
    assert message.state == InboundState.FAILED
    assert message.last_error.startswith("parked: order “SBO900004” is unknown")
    assert not Order.objects.filter(external_id="SBO900004").exists()


def test_a_cancellation_by_customer_service_after_release_reaches_the_wms_once(
    released_override, sandbox, manager_user, django_capture_on_commit_callbacks
):
    # given an order the WMS was told to ship, not shipped yet
    _record, order = released_override
    # when customer service (here a manager) cancels it, and the outbox is relayed twice
    with django_capture_on_commit_callbacks(execute=True):
        order_transition(
            actor=manager_user, order_id=order.pk, transition="cancel", reason="Customer called"
        )
    outbox_relay()
    outbox_relay()
    # then the WMS got one cancellation of it and honoured it; no hold was raised
    cancels = [c for c in sandbox.state.cancellations.values() if c["order"] == order.number]
    assert len(cancels) == 1 and cancels[0]["answer"]["status"] == "accepted"
    assert not Hold.objects.filter(order=order, reason__code="CHANGED_AFTER_SHIPMENT").exists()


def test_a_cancellation_the_warehouse_already_shipped_becomes_a_hold_with_its_answer(
    released_override, sandbox, manager_user, django_capture_on_commit_callbacks
):
    # given an order the WMS has shipped, before o2c pulled the confirmation
    _record, order = released_override
    sandbox.state.ship_after_seconds = 0
    # when it is cancelled in o2c and the cancellation is relayed
    with django_capture_on_commit_callbacks(execute=True):
        order_transition(
            actor=manager_user, order_id=order.pk, transition="cancel", reason="Customer called"
        )
    outbox_relay()
    # then the warehouse's answer is a customer-service hold that quotes it
    hold = Hold.objects.get(order=order, reason__code="CHANGED_AFTER_SHIPMENT")
    assert hold.queue == "customer_service"
    assert "already shipped" in str(hold.context)


def test_an_allocated_override_re_holds_after_a_ten_times_amendment_and_the_wms_is_told(
    released_override, erp, sandbox, warehouse_user, django_capture_on_commit_callbacks
):
    # given a released credit override the warehouse has allocated (stock reserved, not shipped)
    record, order = released_override
    with django_capture_on_commit_callbacks(execute=True):
        order_transition(
            actor=warehouse_user, order_id=order.pk, transition="allocate", reason="Picked"
        )
    order.refresh_from_db()
    assert order.state == OrderState.ALLOCATED
    line = record["lines"][0]
    # when the ERP multiplies the quantity by ten
    ten_times = _version(record, 2, lines=[{**line, "quantity": str(int(line["quantity"]) * 10)}])
    _pull(erp, sandbox, django_capture_on_commit_callbacks, ten_times)
    # then the allocated order is judged again: back on hold under a new credit hold
    order.refresh_from_db()
    assert order.source_version == 2 and order.state == OrderState.ON_HOLD
    new = order.holds.get(reason__code="CREDIT_LIMIT", state__in=ACTIVE_STATES)
    assert new.context["earlier_decision"]["by"] == "credit"
    # and the WMS hears the change, then that it must not ship, once each
    outbox_relay()
    outbox_relay()
    assert list(sandbox.state.changes) == [f"change:{order.number}:2"]
    assert list(sandbox.state.cancellations) == [f"cancel:{order.number}:1"]


def test_an_amendment_after_shipping_changes_nothing_and_holds_for_customer_service(
    released_override, erp, wms, sandbox, django_capture_on_commit_callbacks
):
    # given an order the WMS has shipped and o2c has recorded
    record, order = released_override
    sandbox.state.ship_after_seconds = 0
    sync(wms, ["shipments"], django_capture_on_commit_callbacks)
    order.refresh_from_db()
    assert order.state in (OrderState.SHIPPED, OrderState.INVOICED)
    before = (order.total, list(order.lines.values_list("ordered_qty", "cancelled")))
    line = record["lines"][0]
    # when the ERP sends a version that halves the quantity
    half = _version(record, 2, lines=[{**line, "quantity": str(int(line["quantity"]) // 2)}])
    _pull(erp, sandbox, django_capture_on_commit_callbacks, half)
    # then the order is exactly as shipped, and customer service holds the difference
    order.refresh_from_db()
    assert order.source_version == 1
    assert (order.total, list(order.lines.values_list("ordered_qty", "cancelled"))) == before
    hold = Hold.objects.get(order=order, reason__code="CHANGED_AFTER_SHIPMENT")
    assert hold.queue == "customer_service" and hold.state in ACTIVE_STATES
    assert hold.context["version"] == 2
    assert any("quantity" in change for change in hold.context["difference"])
    message = InboundMessage.objects.get(external_id=record["id"], version=2)
    assert "cannot apply" in message.last_error
    assert not OutboundMessage.objects.filter(topic="order_change").exists()


def test_an_upstream_cancellation_of_a_held_order_closes_its_holds(
    feed, erp, sandbox, django_capture_on_commit_callbacks
):
    # given an order over its credit limit, on hold in the credit queue
    record = _order(feed, "SBO900005", _quantity_over_limit(feed))
    _pull(erp, sandbox, django_capture_on_commit_callbacks, record)
    order = Order.objects.get(external_id="SBO900005")
    hold = order.holds.get(reason__code="CREDIT_LIMIT")
    assert order.state == OrderState.ON_HOLD and hold.state in ACTIVE_STATES
    # when the ERP cancels it
    _pull(erp, sandbox, django_capture_on_commit_callbacks, _version(record, 2, status="cancelled"))
    # then the order is cancelled and its hold is no longer work for anyone, saying why
    order.refresh_from_db()
    hold.refresh_from_db()
    assert order.state == OrderState.CANCELLED
    assert hold.state not in ACTIVE_STATES and hold.resolution_code == "CLEARED"
    assert hold.history.latest().history_change_reason == (
        f"Cleared: Order {order.number} cancelled by o2c system; nothing left to decide"
    )
    # and nothing went to the WMS, which was never told to ship it
    assert not OutboundMessage.objects.filter(topic="order_cancel").exists()
