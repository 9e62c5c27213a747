"""Receivables KPIs on a hand-built ledger with answers worked out by hand (in the comments):
DSO by count-back, the collection effectiveness index, deduction days outstanding, case aging by
reason, the recovery rate of invalid deductions, the returns rate and the top root causes; per
currency, and narrowed by territory."""

import importlib
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.urls import reverse
from django.utils import timezone

from billing.models import CreditMemo, Invoice
from cases.models import Case, CaseReason
from core.audit import set_state_for_insert
from insights.kpis import KpiFilters
from insights.receivable_kpis import (
    case_aging,
    collection_effectiveness,
    deduction_days_outstanding,
    dso_count_back,
    invalid_recovery,
    receivables,
    returns_rate,
    top_root_causes,
)
from receivables.models import Application, Payment
from tests.fixtures.factories import CustomerFactory

pytestmark = pytest.mark.django_db

_seed = importlib.import_module("cases.migrations.0002_seed_reasons")
EAST = KpiFilters(start=date(2026, 9, 1), end=date(2026, 11, 30), territory="EAST")
NOW = timezone.make_aware(datetime(2026, 12, 1))
_numbers = iter(range(1, 1000))


def at(day: str) -> datetime:
    return timezone.make_aware(datetime.fromisoformat(day) + timedelta(hours=12))


def invoice(customer, total: str, issued: str, due: str, currency: str = "USD") -> Invoice:
    made = Invoice(
        number=f"INV-K{next(_numbers):05d}",
        customer=customer,
        billing_rule="immediate",
        currency=currency,
        issued_on=date.fromisoformat(issued),
        due_date=date.fromisoformat(due),
        subtotal=Decimal(total),
        total=Decimal(total),
        created_at=at(issued),
        released_at=at(issued),
    )
    set_state_for_insert(made, "released")
    made.save()
    return made


def pay(inv: Invoice, amount: str, day: str) -> Application:
    payment = Payment.objects.create(
        key=f"K-PAY-{next(_numbers)}",
        entry_reference="K",
        amount=Decimal(amount),
        currency=inv.currency,
        value_date=date.fromisoformat(day),
        method=Payment.Method.WIRE,
        received_at=at(day),
    )
    return Application.objects.create(
        payment=payment, invoice=inv, amount=Decimal(amount), applied_at=at(day)
    )


def case(inv, amount, reason, opened, *, kind="deduction", state="open", resolved=None, cause=""):
    reason = CaseReason.objects.get(code=reason)
    return Case.objects.create(
        kind=kind,
        customer_id=inv.customer_id,
        invoice=inv,
        amount=Decimal(amount),
        currency=inv.currency,
        reason=reason,
        queue=reason.queue,
        state=state,
        opened_at=at(opened),
        due_at=at(opened) + timedelta(days=3),
        resolved_at=at(resolved) if resolved else None,
        root_cause=cause,
    )


@pytest.fixture
def ledger(db):
    _seed.seed(django_apps, None)
    east = CustomerFactory(territory="EAST")
    west = CustomerFactory(territory="WEST")
    i1 = invoice(east, "1000", "2026-08-15", "2026-09-14")
    pay(i1, "600", "2026-09-20")
    i2 = invoice(east, "2000", "2026-10-10", "2026-11-09")
    i3 = invoice(east, "3000", "2026-11-20", "2026-12-20")
    i4 = invoice(east, "500", "2026-09-05", "2026-10-05")
    CreditMemo.objects.create(
        number="CM-K1",
        invoice=i4,
        reason_code="return",
        reason="Return RMA-K1",
        created_at=at("2026-10-01"),
        subtotal=Decimal("100"),
        total=Decimal("100"),
    )
    pay(i4, "400", "2026-10-06")
    invoice(west, "999", "2026-10-01", "2026-10-31")  # outside EAST
    invoice(east, "100", "2026-11-01", "2026-12-01", currency="EUR")
    # cases: one open deduction, one old open dispute, two invalid deductions, three price-file
    case(i2, "50", "PRICING", "2026-10-15")
    case(i1, "80", "DAMAGE", "2026-08-01", kind="dispute")
    case(
        i2,
        "150",
        "PRICING",
        "2026-11-10",
        state="resolved_invalid",
        resolved="2026-11-12",
        cause="customer_error",
    )
    case(
        i3,
        "100",
        "PRICING",
        "2026-11-18",
        state="resolved_invalid",
        resolved="2026-11-20",
        cause="customer_error",
    )
    pay(i2, "1000", "2026-12-02")  # after i2's invalid deduction was decided
    for amount, opened, resolved, state in [
        ("40", "2026-10-20", "2026-11-01", "resolved_valid"),
        ("60", "2026-09-20", "2026-10-01", "resolved_valid"),
        ("30", "2026-10-25", "2026-11-05", "resolved_partly"),
    ]:
        case(i4, amount, "PRICING", opened, state=state, resolved=resolved, cause="price_file")
    return {"east": east, "west": west}


def test_dso_by_count_back(ledger):
    # receivables on 1 Dec: i1 400 + i2 2,000 + i3 3,000 + i4 0 = 5,400; November's 3,000 is 30
    # days, October's 2,000 31 more, and the 400 left is 400/500 of September's 30 days: 85.0.
    # EUR: 100 owed against November's 100 of sales: 30.0.
    assert dso_count_back(EAST) == {"EUR": Decimal("30.0"), "USD": Decimal("85.0")}


def test_collection_effectiveness_index(ledger):
    # opening 1,000 (i1) + sales 5,500 - closing 5,400 = 1,100 collected, of 1,000 + 5,500 -
    # 3,000 current (i3 due 20 Dec) = 3,500 collectable: 31.4 %
    assert collection_effectiveness(EAST)["USD"] == Decimal("31.4")
    # EUR: nothing was due by the end, nothing collected: 0 of 100 collectable... the invoice
    # is due 1 Dec, after the end, so it is current and nothing was collectable
    assert collection_effectiveness(EAST)["EUR"] is None


def test_deduction_days_outstanding(ledger):
    # 50 open now against 430 taken over the range's 91 days: 10.6 days
    assert deduction_days_outstanding(EAST) == {
        "USD": {"open": Decimal("50.00"), "taken": Decimal("430.00"), "days": Decimal("10.6")}
    }


def test_case_aging_by_reason(ledger):
    # on 1 Dec the dispute is 122 days old, the deduction 47
    assert case_aging(EAST, now=NOW) == [
        {
            "reason": "Damaged goods",
            "currency": "USD",
            "count": 1,
            "amount": Decimal("80.00"),
            "buckets": [0, 0, 0, 1],
        },
        {
            "reason": "Price difference",
            "currency": "USD",
            "count": 1,
            "amount": Decimal("50.00"),
            "buckets": [0, 1, 0, 0],
        },
    ]


def test_recovery_of_invalid_deductions(ledger):
    # 150 + 100 invalid; i2 was paid 1,000 after its decision (150 recovered), i3 nothing
    assert invalid_recovery(EAST) == {
        "USD": {"invalid": Decimal("250"), "recovered": Decimal("150"), "rate": Decimal("0.6000")}
    }


def test_returns_rate(ledger):
    # 100 credited for returns against 5,500 of sales; territory narrows it, the west's 999 too
    assert returns_rate(EAST)["USD"] == {
        "sales": Decimal("5500"),
        "returned": Decimal("100"),
        "rate": Decimal("0.0182"),
    }
    everyone = KpiFilters(start=EAST.start, end=EAST.end)
    assert returns_rate(everyone)["USD"]["sales"] == Decimal("6499")


def test_top_root_causes(ledger):
    assert [(r["root_cause"], r["count"], r["amount"]) for r in top_root_causes(EAST)] == [
        ("price_file", 3, Decimal("130.00")),
        ("customer_error", 2, Decimal("250.00")),
    ]


def test_the_dashboard_api_and_csv_show_them(ledger, client, manager_user):
    client.force_login(manager_user)
    query = {"start": "2026-09-01", "end": "2026-11-30", "territory": "EAST"}
    # the dashboard loads the section after itself; the section has the figures
    page = client.get(reverse("insights:dashboard"), query)
    assert page.status_code == 200 and 'hx-get="/insights/receivables/?' in page.text
    panel = client.get(reverse("insights:receivables"), query, HTTP_HX_REQUEST="true")
    assert panel.status_code == 200 and "<html" not in panel.text
    assert "85.0" in panel.text and "31.4 %" in panel.text and "Price difference" in panel.text
    alone = client.get(reverse("insights:receivables"), query)  # without JavaScript: a page
    assert "<html" in alone.text and "85.0" in alone.text
    csv = b"".join(
        client.get(reverse("insights:export", args=["receivables"]), query).streaming_content
    ).decode()
    assert "USD,85.0,31.4,10.6,0.6000,0.0182" in csv
    api = client.get("/api/v1/kpis/receivables/", query).json()
    assert api["dso"]["USD"] == "85.0" and api["cei"]["USD"] == "31.4"
    assert api["case_aging"]["reasons"][0]["reason"] == "Damaged goods"
    assert "receivables" not in client.get("/api/v1/kpis/", query).json()
    assert receivables(EAST).currencies == ["EUR", "USD"]
