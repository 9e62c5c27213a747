"""Signed webhook intake: 401 on a bad signature, idempotent retries, 409 on a reused key, 400 naming
the field for bad input, and the pushed order applied like a pulled one."""

import hashlib
import hmac
import json

import pytest
from django.urls import reverse

from integrations.models import Connector, InboundMessage
from integrations.services import inbox_process
from orders.models import Order

pytestmark = pytest.mark.django_db
SECRET = "webhook-test-secret"  # noqa: S105 - test-only


@pytest.fixture
def signed_erp(erp, monkeypatch):
    monkeypatch.setenv("SANDBOX_ERP_SECRET", SECRET)
    erp.credentials_ref = "SANDBOX_ERP_SECRET"
    erp.save()
    return erp


def post(client, body, *, key=None, secret=SECRET, stream="customers"):
    raw = json.dumps(body).encode() if not isinstance(body, bytes) else body
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    headers = {"HTTP_X_O2C_SIGNATURE": signature}
    if key:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(
        reverse("inbound-webhook", args=["sandbox-erp", stream]),
        raw,
        content_type="application/json",
        **headers,
    )


CUSTOMER = {
    "id": "WH-1",
    "number": "WH-1",
    "name": "Webhook Co",
    "territory": "WEST",
    "credit_limit": "1000.00",
}


def test_bad_signature_is_401_and_stores_nothing(client, signed_erp):
    response = post(client, CUSTOMER, secret="wrong")
    assert response.status_code == 401 and response.json()["code"] == "bad_signature"
    assert not InboundMessage.objects.exists()


def test_same_key_same_payload_returns_the_original_result(client, signed_erp):
    first = post(client, CUSTOMER, key="k-1")
    again = post(client, CUSTOMER, key="k-1")
    assert first.status_code == 202 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert InboundMessage.objects.count() == 1


def test_same_key_different_payload_is_409_and_changes_nothing(client, signed_erp):
    post(client, CUSTOMER, key="k-1")
    response = post(client, {**CUSTOMER, "credit_limit": "999999.00"}, key="k-1")
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    assert InboundMessage.objects.get().payload["credit_limit"] == "1000.00"


@pytest.mark.parametrize(
    "body, field",
    [
        (b"{not json", None),
        (
            {"id": "WH-2", "number": "WH-2", "name": "X", "territory": "W", "credit_limit": "-5"},
            "credit_limit",
        ),
        ({"id": "WH-3", "number": "WH-3", "territory": "W", "credit_limit": "5"}, "name"),
        (
            {"id": "WH-4", "number": 42, "name": "X", "territory": "W", "credit_limit": "5"},
            "number",
        ),
        # an id of spaces once passed, then was stored under another key: a 500
        ({"id": "   ", "number": "WH-5", "name": "X", "territory": "W", "credit_limit": "5"}, "id"),
        (
            {"id": "WH-6", "number": "  ", "name": "X", "territory": "W", "credit_limit": "5"},
            "number",
        ),
    ],
)
def test_bad_input_is_400_naming_the_field(client, signed_erp, body, field):
    response = post(client, body)
    assert response.status_code == 400
    if field:
        assert response.json()["extra"]["field"] == field and field in response.json()["message"]
    assert not InboundMessage.objects.exists()


def test_pushed_order_is_applied_like_a_pulled_one(
    client, signed_erp, django_capture_on_commit_callbacks
):
    for stream, records in [
        ("customers", signed_erp_customers()),
        (
            "items",
            [
                {
                    "id": "WHI",
                    "sku": "WH-SKU",
                    "description": "Pushed",
                    "list_price": "10",
                    "unit_cost": "5",
                }
            ],
        ),
    ]:
        for record in records:
            post(client, record, stream=stream)
        inbox_process(connector_id=signed_erp.pk, stream=stream)
    order = {
        "id": "WHO-1",
        "number": "WHO-1",
        "channel": "api",
        "customer": "WH-1",
        "ship_to": "",
        "lines": [{"line": 1, "sku": "WH-SKU", "quantity": "2", "unit_price": "10"}],
    }
    assert post(client, order, stream="orders").status_code == 202
    with django_capture_on_commit_callbacks(execute=True):
        inbox_process(connector_id=signed_erp.pk, stream="orders")
    assert Order.objects.get(number="WHO-1").total == 20


def signed_erp_customers():
    return [CUSTOMER]


def test_an_edi_connectors_streams_take_no_pushed_records(client, monkeypatch):
    # given an EDI connector with a secret, whose streams hold what o2c made of interchanges
    monkeypatch.setenv("EDI_HOOK_SECRET", SECRET)
    Connector.objects.create(
        name="edi", kind="edi", base_url="http://127.0.0.1:9", credentials_ref="EDI_HOOK_SECRET"
    )
    advice = {"id": "820-1", "reference": "TRN-1", "amount": "100.00", "customer": 1}
    raw = json.dumps(advice).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    url = reverse("inbound-webhook", args=["edi", "remittances"])
    # without its secret, a caller learns nothing of the connector
    unsigned = client.post(url, raw, content_type="application/json", HTTP_X_O2C_SIGNATURE="")
    assert unsigned.status_code == 401
    # when someone holding its secret pushes an "820" to it
    response = client.post(
        reverse("inbound-webhook", args=["edi", "remittances"]),
        raw,
        content_type="application/json",
        HTTP_X_O2C_SIGNATURE=signature,
    )
    # then it is refused, pointing to the interchange endpoint, and nothing is stored
    assert response.status_code == 404
    assert "/api/v1/edi/<partner>/" in response.json()["message"]
    assert not InboundMessage.objects.exists()
