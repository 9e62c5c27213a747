"""Disputes through the API: the customer's own systems raise one on their invoice with a token
of their customer login (routed to the reason's queue, saying so), see only their disputes and
never the desk's notes; customer service raises one for a customer; other roles and another
customer's invoice are refused; bad input is refused with the numbers and writes nothing."""

from decimal import Decimal

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cases.models import Case, CaseQueue, CustomerLogin
from tests.cases.test_deductions import invoice, reasons
from tests.fixtures.factories import CustomerFactory
from tests.fixtures.users import make_user

__all__ = ["invoice", "reasons"]

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer_api(invoice):
    """An API client with the token of a login speaking for the invoice's customer."""
    user = make_user("acme-portal")  # no role: nothing of the desk
    CustomerLogin.objects.create(user=user, customer=invoice.customer)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_a_customer_raises_a_dispute_on_its_invoice_and_follows_it(customer_api, invoice):
    body = {"invoice": invoice.number, "amount": "5.00", "reason": "PRICING", "note": "Quoted 12"}
    created = customer_api.post("/api/v1/disputes/", body, format="json")
    assert created.status_code == 201, created.content
    case = Case.objects.get()
    assert created.json()["id"] == case.pk and created.json()["state"] == "open"
    assert case.kind == Case.Kind.DISPUTE and case.queue == CaseQueue.PRICING
    assert "raised by the customer through the API (acme-portal): Quoted 12" in (
        case.notes.get().text
    )
    listed = customer_api.get("/api/v1/disputes/").json()
    assert [row["id"] for row in listed["results"]] == [case.pk]
    assert "notes" not in listed["results"][0]
    assert customer_api.get(f"/api/v1/disputes/{case.pk}/").json()["amount"] == "5.00"
    # the desk's pages stay closed to it
    assert customer_api.get("/api/v1/invoices/").status_code == 403


def test_a_customer_cannot_dispute_or_see_another_customers_invoice(customer_api, invoice):
    other = make_user("other-portal")
    CustomerLogin.objects.create(user=other, customer=CustomerFactory())
    stranger = APIClient()
    stranger.force_authenticate(other)
    body = {"invoice": invoice.number, "amount": "5.00", "reason": "PRICING", "note": "x"}
    refused = stranger.post("/api/v1/disputes/", body, format="json")
    assert (
        refused.status_code == 400 and f"No invoice {invoice.number}" in refused.json()["message"]
    )
    customer_api.post("/api/v1/disputes/", body, format="json")
    case = Case.objects.get()
    assert stranger.get("/api/v1/disputes/").json()["results"] == []
    assert stranger.get(f"/api/v1/disputes/{case.pk}/").status_code == 403


def test_bad_input_is_refused_with_the_numbers_and_writes_nothing(customer_api, invoice):
    too_much = customer_api.post(
        "/api/v1/disputes/",
        {"invoice": invoice.number, "amount": "99999.00", "reason": "PRICING", "note": "x"},
        format="json",
    )
    assert too_much.status_code == 400
    assert (
        f"99,999.00 is more than the {invoice.open_amount:,.2f} USD" in too_much.json()["message"]
    )
    no_reason = customer_api.post(
        "/api/v1/disputes/",
        {"invoice": invoice.number, "amount": "1.00", "reason": "NOPE", "note": "x"},
        format="json",
    )
    assert no_reason.status_code == 400 and "Choose a reason" in no_reason.json()["message"]
    missing = customer_api.post("/api/v1/disputes/", {"amount": "1"}, format="json")
    assert missing.status_code == 400
    assert not Case.objects.exists()


def test_customer_service_raises_one_for_a_customer_and_other_roles_cannot(
    invoice, cs_user, pricing_user
):
    api = APIClient()
    body = {"invoice": invoice.number, "amount": "2.00", "reason": "DAMAGE", "note": "Dented"}
    api.force_authenticate(pricing_user)
    assert api.post("/api/v1/disputes/", body, format="json").status_code == 403
    api.force_authenticate(cs_user)
    created = api.post("/api/v1/disputes/", body, format="json")
    assert created.status_code == 201 and Decimal(created.json()["amount"]) == Decimal("2.00")
    assert Case.objects.get().queue == CaseQueue.WAREHOUSE
    api.force_authenticate(make_user("no-role"))
    assert api.get("/api/v1/disputes/").status_code == 403
