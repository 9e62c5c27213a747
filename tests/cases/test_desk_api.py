"""The case desk, returns and collections over the API, through the pages' services: a pricing
analyst claims and credits a deduction (a second claim is a conflict naming who), customer
service authorises a return by invoice line number (too many is refused with the numbers,
writing nothing) and finance decides its credit, a collector reads the worklist and logs a
promise (one in the past is refused)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from billing.models import BillingPolicy, CreditMemo
from cases.models import Case, CaseState, ReturnAuthorisation, ReturnState
from cases.returns import return_receive
from core.roles import Role, get_system_user
from dunning.models import PromiseToPay
from dunning.services import accounts_refresh
from tests.cases.test_deductions import _one_unit, _pay_short, cash_user, invoice, reasons
from tests.fixtures.billing import past_due_invoice
from tests.fixtures.factories import CustomerFactory
from tests.fixtures.users import make_user

__all__ = ["cash_user", "invoice", "reasons"]

pytestmark = pytest.mark.django_db


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_pricing_analyst_claims_and_credits_a_deduction(invoice, cash_user, pricing_user):
    short = _one_unit(invoice)
    _pay_short(invoice, short, "PRC", cash_user)
    case = Case.objects.get()
    api = as_user(pricing_user)
    listed = api.get("/api/v1/cases/").json()
    assert [row["id"] for row in listed["results"]] == [case.pk]
    assert listed["results"][0]["reason"] == "Price difference"
    claimed = api.post(f"/api/v1/cases/{case.pk}/claim/")
    assert claimed.status_code == 200 and claimed.json()["claimed_by"] == "pricing"
    again = as_user(make_user("pricer-two", Role.PRICING)).post(f"/api/v1/cases/{case.pk}/claim/")
    assert again.status_code == 409 and "pricing claimed this case" in again.json()["message"]
    line = invoice.lines.get()
    resolved = api.post(
        f"/api/v1/cases/{case.pk}/resolve/",
        {
            "outcome": "valid",
            "root_cause": "price_file",
            "note": "contract late",
            "quantities": {str(line.pk): "1"},
        },
        format="json",
    )
    assert resolved.status_code == 200, resolved.content
    body = resolved.json()
    assert body["state"] == CaseState.VALID and body["credit_memo"].startswith("CM-")
    assert any("Credited" in note["text"] for note in body["notes"])
    assert CreditMemo.objects.get().total == short


def test_a_credit_too_large_for_the_case_is_refused_with_the_numbers(
    invoice, cash_user, pricing_user
):
    _pay_short(invoice, Decimal("3.00"), "PRC", cash_user)
    case = Case.objects.get()
    refused = as_user(pricing_user).post(
        f"/api/v1/cases/{case.pk}/resolve/",
        {"outcome": "partly", "amount": "9.00", "root_cause": "price_file", "note": "x"},
        format="json",
    )
    assert refused.status_code == 400
    assert "9.00 is more than this case allows: 3.00 USD" in refused.json()["message"]
    case.refresh_from_db()
    assert case.state == CaseState.OPEN and not CreditMemo.objects.exists()


def test_customer_service_authorises_a_return_and_finance_decides_its_credit(
    invoice, cs_user, finance_user
):
    BillingPolicy.objects.update(credit_memo_approval_amount=Decimal("1.00"))
    api = as_user(cs_user)
    too_many = api.post(
        "/api/v1/returns/",
        {
            "invoice": invoice.number,
            "reason": "damaged",
            "note": "Crushed",
            "lines": [{"invoice_line": 1, "quantity": "11"}],
        },
        format="json",
    )
    assert too_many.status_code == 400
    assert "11 is more than may come back — invoiced 10" in too_many.json()["message"]
    assert not ReturnAuthorisation.objects.exists()
    created = api.post(
        "/api/v1/returns/",
        {
            "invoice": invoice.number,
            "reason": "damaged",
            "note": "Crushed",
            "lines": [{"invoice_line": 1, "quantity": "2"}],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    rma = created.json()
    assert rma["state"] == ReturnState.AUTHORISED and rma["lines"][0]["quantity"] == "2.000"
    return_receive(
        actor=get_system_user(),
        number=rma["number"],
        receipt_id="RCV-API",
        lines={1: (Decimal("2"), Decimal("0"))},
    )
    assert as_user(finance_user).get(f"/api/v1/returns/{rma['id']}/").json()["state"] == (
        ReturnState.RECEIVED
    )
    # customer service cannot decide; finance approves
    assert (
        api.post(
            f"/api/v1/returns/{rma['id']}/decide/", {"action": "approve", "reason": "ok"}
        ).status_code
        == 403
    )
    decided = as_user(finance_user).post(
        f"/api/v1/returns/{rma['id']}/decide/", {"action": "approve", "reason": "Photos checked"}
    )
    assert decided.status_code == 200 and decided.json()["state"] == ReturnState.CREDITED
    assert decided.json()["credit_memo"].startswith("CM-")


def test_a_collector_reads_the_worklist_and_logs_a_promise(collections_user, dunning_defaults):
    customer = CustomerFactory(name="Granite Foods")
    past_due_invoice(customer, "1800.00", days_past_due=40)
    accounts_refresh()
    api = as_user(collections_user)
    (row,) = api.get("/api/v1/collections/").json()["results"]
    assert row["customer_name"] == "Granite Foods" and row["past_due"] == "1800.00"
    assert row["days_past_due"] == 40 and row["standing"] == "watch"
    late = api.post(
        f"/api/v1/collections/{customer.pk}/promises/",
        {"amount": "100.00", "currency": "USD", "promised_for": "2020-01-01"},
        format="json",
    )
    assert late.status_code == 400 and "today or later" in late.json()["message"]
    by = timezone.localdate() + timedelta(days=5)
    promised = api.post(
        f"/api/v1/collections/{customer.pk}/promises/",
        {"amount": "1800.00", "currency": "USD", "promised_for": by.isoformat()},
        format="json",
    )
    assert promised.status_code == 201 and promised.json()["state"] == "open"
    assert PromiseToPay.objects.get(customer=customer).amount == Decimal("1800.00")
    logged = api.post(
        f"/api/v1/collections/{customer.pk}/contacts/",
        {"channel": "phone", "summary": "AP confirmed the run"},
        format="json",
    )
    assert logged.status_code == 201
    assert api.get("/api/v1/collections/").json()["results"][0]["last_contact_at"]
