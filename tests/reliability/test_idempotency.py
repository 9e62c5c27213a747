"""Idempotency keys end to end: a retried push with the same key and payload gets the original
result and applies once; the same key with another payload gets 409 and the applied order, its
lines and the stored message stay exactly as they were."""

import pytest

from integrations.models import InboundMessage
from integrations.services import inbox_process
from orders.models import Order
from tests.integrations.test_webhook import CUSTOMER, post
from tests.summary import summary

pytestmark = pytest.mark.django_db

ITEM = {"id": "IDI", "sku": "ID-SKU", "description": "Keyed", "list_price": "10", "unit_cost": "5"}
ORDER = {
    "id": "IDO-1",
    "number": "IDO-1",
    "channel": "api",
    "customer": CUSTOMER["number"],
    "ship_to": "",
    "lines": [{"line": 1, "sku": "ID-SKU", "quantity": "2", "unit_price": "10"}],
}


def _state():
    order = Order.objects.get(number="IDO-1")
    return (
        Order.objects.count(),
        order.total,
        list(order.lines.values_list("ordered_qty", "unit_price")),
        order.history.count(),
        list(InboundMessage.objects.filter(stream="orders").values_list("payload_hash", "state")),
    )


def test_a_key_applies_once_and_never_changes_meaning(
    client, signed_erp, django_capture_on_commit_callbacks
):
    for stream, record in (("customers", CUSTOMER), ("items", ITEM)):
        post(client, record, stream=stream)
        inbox_process(connector_id=signed_erp.pk, stream=stream)
    first = post(client, ORDER, key="order-key-1", stream="orders")
    assert first.status_code == 202
    with django_capture_on_commit_callbacks(execute=True):
        inbox_process(connector_id=signed_erp.pk, stream="orders")
    applied = _state()
    assert applied[0] == 1 and applied[1] == 20

    # the sender retries (a timeout on its side): the original result, nothing applied twice
    retried = post(client, ORDER, key="order-key-1", stream="orders")
    assert retried.status_code == 200 and retried.json()["id"] == first.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        inbox_process(connector_id=signed_erp.pk, stream="orders")
    assert _state() == applied

    # the same key for another payload: refused, and nothing of the original moves
    changed = {**ORDER, "lines": [{**ORDER["lines"][0], "quantity": "200"}]}
    refused = post(client, changed, key="order-key-1", stream="orders")
    assert refused.status_code == 409 and refused.json()["code"] == "conflict"
    with django_capture_on_commit_callbacks(execute=True):
        inbox_process(connector_id=signed_erp.pk, stream="orders")
    assert _state() == applied
    summary(
        "idempotency keys",
        load="1 push, 1 retry, 1 reuse with another payload",
        faults="client retry, key reuse",
        result="200 original / 409, order unchanged",
    )
