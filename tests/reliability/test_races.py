"""Twenty people click the same button at the same moment, each on a connection of their own,
through the API as a script or a second browser tab would: exactly one succeeds, nineteen get a
clear 409, and there is one history row and one downstream effect (one outbox message)."""

import threading
from decimal import Decimal

import pytest
from django.db import connections
from rest_framework.test import APIClient

from billing.models import Invoice, InvoiceState
from exceptions.models import Hold, HoldState
from exceptions.services import order_evaluate
from integrations.models import Connector, OutboundMessage
from orders.models import OrderState
from orders.services import LineInput, order_create
from tests.fixtures.factories import CustomerFactory, ShipToFactory
from tests.fixtures.users import make_user
from tests.summary import summary

CONTENDERS = 20


@pytest.fixture
def targets(transactional_db):
    """The WMS and ERP the outbox writes to (no relay runs here: the rows are the effect)."""
    for kind in ("wms", "erp"):
        Connector.objects.create(
            name=f"race-{kind}", kind=kind, base_url="http://127.0.0.1:9", enabled=True
        )


def _stampede(users, url: str) -> list:
    """POST ``url`` once per user, all released by one barrier; returns (status, body) each."""
    barrier = threading.Barrier(len(users))
    outcomes = []
    lock = threading.Lock()

    def click(user):
        api = APIClient()
        api.force_authenticate(user)
        try:
            barrier.wait(timeout=30)
            response = api.post(url, {"reason": f"by {user.username}"}, format="json")
            with lock:
                outcomes.append((response.status_code, response.json()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_releases_of_one_hold(targets, hold_policy, stocked_item, cs_user):
    customer = CustomerFactory(credit_limit=Decimal("100"))
    order = order_create(
        actor=cs_user,
        customer_id=customer.pk,
        channel="edi",
        ship_to_id=ShipToFactory(customer=customer).pk,
        lines=[LineInput(sku=stocked_item.sku, quantity=Decimal("5"))],  # 500 > 100: credit
    )
    order_evaluate(order_id=order.pk)
    hold = Hold.objects.get(order=order)
    analysts = [make_user(f"credit_{n}", "credit") for n in range(CONTENDERS)]

    outcomes = _stampede(analysts, f"/api/v1/holds/{hold.pk}/release/")

    statuses = sorted(status for status, _ in outcomes)
    assert statuses == [200] + [409] * (CONTENDERS - 1), statuses
    winner = next(body for status, body in outcomes if status == 200)
    for status, body in outcomes:
        if status == 409:
            assert body["code"] == "conflict"
            assert body["message"].startswith("Already released by"), body
    assert Hold.history.filter(id=hold.pk, state=HoldState.RELEASED).count() == 1
    order.refresh_from_db()
    assert order.state == OrderState.RELEASED
    # one downstream effect: the order goes to the warehouse once
    releases = OutboundMessage.objects.filter(topic="order_release", key__contains=order.number)
    assert releases.count() == 1
    assert order.history.filter(state=OrderState.RELEASED).count() == 1
    summary(
        "race: hold release",
        load=f"{CONTENDERS} concurrent API releases",
        faults="contention",
        result=f"1 × 200 ({winner['state']}), {CONTENDERS - 1} × 409",
    )


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_approvals_of_one_invoice(targets, released_order, ship):
    order = released_order(lines=[("B", "4")])
    ship(order, {1: "4"})
    invoice = Invoice.objects.get()
    assert invoice.state == InvoiceState.PENDING_APPROVAL  # a first invoice: finance approves
    approvers = [make_user(f"fin_{n}", "finance") for n in range(CONTENDERS)]

    outcomes = _stampede(approvers, f"/api/v1/invoices/{invoice.pk}/approve/")

    statuses = sorted(status for status, _ in outcomes)
    assert statuses == [200] + [409] * (CONTENDERS - 1), statuses
    for status, body in outcomes:
        if status == 409:
            assert "already released by" in body["message"], body
    assert Invoice.history.filter(id=invoice.pk, state=InvoiceState.RELEASED).count() == 1
    order.refresh_from_db()
    assert order.state == OrderState.INVOICED
    assert order.lines.get().invoiced_qty == Decimal("4")  # recorded once, not twenty times
    sent = OutboundMessage.objects.filter(topic="invoice_release", key__contains=invoice.number)
    assert sent.count() == 1
    summary(
        "race: invoice approval",
        load=f"{CONTENDERS} concurrent API approvals",
        faults="contention",
        result=f"1 × 200, {CONTENDERS - 1} × 409",
    )
